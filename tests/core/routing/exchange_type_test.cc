#include "core/routing/exchange_type.h"

#include <gtest/gtest.h>

#include "core/routing/destination.h"

namespace lepus::routing {
namespace {

TEST(ExchangeTypeTest, ParsesTheFourTypesAndRoundTrips) {
    for (ExchangeType type :
         {ExchangeType::direct, ExchangeType::fanout, ExchangeType::topic, ExchangeType::headers}) {
        EXPECT_EQ(parse_exchange_type(to_string(type)), type);
    }
    EXPECT_EQ(to_string(ExchangeType::headers), "headers");
}

TEST(ExchangeTypeTest, RejectsUnknownAndWrongCase) {
    EXPECT_FALSE(parse_exchange_type(""));
    EXPECT_FALSE(parse_exchange_type("Direct"));
    EXPECT_FALSE(parse_exchange_type("x-consistent-hash"));
    EXPECT_FALSE(parse_exchange_type("topic "));
}

TEST(DestinationTest, KindIsPartOfIdentity) {
    Destination queue = Destination::queue("a");
    Destination exchange = Destination::exchange("a");
    EXPECT_NE(queue, exchange);
    EXPECT_EQ(queue, Destination::queue("a"));
    EXPECT_EQ(std::hash<Destination>{}(queue), std::hash<Destination>{}(Destination::queue("a")));
    EXPECT_NE(std::hash<Destination>{}(queue), std::hash<Destination>{}(exchange));
}

}  // namespace
}  // namespace lepus::routing
