#include "net/management/rates.h"

#include <gtest/gtest.h>

namespace lepus::management {
namespace {

using nlohmann::json;

TEST(RateSampler, RateIsTheDifferenceOfTheLastTwoSamplesPerSecond) {
    RateSampler rates;
    EXPECT_EQ(rates.rate("q", "messages"), 0.0);
    rates.record("q", 1000, {{"messages", 10}});
    EXPECT_EQ(rates.rate("q", "messages"), 0.0);  // one sample: no rate yet
    rates.record("q", 6000, {{"messages", 60}});
    EXPECT_DOUBLE_EQ(rates.rate("q", "messages"), 10.0);
    rates.record("q", 11000, {{"messages", 35}});
    EXPECT_DOUBLE_EQ(rates.rate("q", "messages"), -5.0);  // a depth may fall
}

TEST(RateSampler, DetailsGoBesideEveryMessageStatAndTheNamedFields) {
    RateSampler rates;
    json item{{"messages", 4}, {"message_stats", {{"publish", 10}, {"ack", 0}}}};
    rates.record("q", 1000, RateSampler::counters_of(item, {"messages"}));
    item = json{{"messages", 14}, {"message_stats", {{"publish", 30}, {"ack", 5}}}};
    rates.record("q", 3000, RateSampler::counters_of(item, {"messages"}));
    rates.add_details("q", item, {"messages"});
    EXPECT_DOUBLE_EQ(item["messages_details"]["rate"].get<double>(), 5.0);
    EXPECT_DOUBLE_EQ(item["message_stats"]["publish_details"]["rate"].get<double>(), 10.0);
    EXPECT_DOUBLE_EQ(item["message_stats"]["ack_details"]["rate"].get<double>(), 2.5);
    EXPECT_EQ(item["message_stats"]["publish"], 30);
}

TEST(RateSampler, ObjectsNotSampledAgainAreForgotten) {
    RateSampler rates;
    rates.record("gone", 1000, {{"messages", 1}});
    rates.record("gone", 2000, {{"messages", 2}});
    rates.record("kept", 7000, {{"messages", 1}});
    rates.forget_unsampled(7000);
    EXPECT_EQ(rates.rate("gone", "messages"), 0.0);
}

}  // namespace
}  // namespace lepus::management
