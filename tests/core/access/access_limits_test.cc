#include "core/access/access_limits.h"

#include <gtest/gtest.h>

#include "tests/core/access/refusal_printer.h"

namespace lepus::access {
namespace {

struct LimitCase {
    std::optional<i64> limit;
    u64 existing;
    bool over;
};

// A negative limit is none, 0 allows none, N allows N (the new one not yet counted).
TEST(AccessLimitsTest, DecidesAsRabbitMQ) {
    const LimitCase cases[] = {
        {std::nullopt, 0, false},
        {std::nullopt, 1'000'000, false},
        {-1, 0, false},
        {-1, 1'000'000, false},
        {-5, 3, false},
        {0, 0, true},
        {0, 7, true},
        {1, 0, false},
        {1, 1, true},
        {3, 2, false},
        {3, 3, true},
        {3, 4, true},
    };
    for (const LimitCase& c : cases) {
        EXPECT_EQ(is_over_limit(c.limit, c.existing), c.over)
            << (c.limit ? std::to_string(*c.limit) : "unset") << " with " << c.existing;
    }
}

TEST(AccessLimitsTest, EachCheckReadsItsOwnLimit) {
    const VhostLimits vhost{.max_connections = 2, .max_queues = 0};
    EXPECT_FALSE(check_vhost_connections(vhost, "/", "u", 1));
    EXPECT_TRUE(check_vhost_connections(vhost, "/", "u", 2));
    EXPECT_TRUE(check_vhost_queues(vhost, "/", "q", 0));
    const UserLimits user{.max_connections = std::nullopt, .max_channels = 1};
    EXPECT_FALSE(check_user_connections(user, "u", 500));
    EXPECT_FALSE(check_user_channels(user, "u", 0));
    EXPECT_TRUE(check_user_channels(user, "u", 1));
    EXPECT_FALSE(check_vhost_queues(VhostLimits{}, "/", "q", 1'000'000));
}

// RabbitMQ 3.10's texts, as a running 3.10 sent them to pika: rabbit_reader (connections,
// channels), rabbit_channel (queues).
TEST(AccessLimitsTest, RefusesWithRabbitMQsTexts) {
    EXPECT_EQ(
        check_vhost_connections({.max_connections = 0, .max_queues = std::nullopt}, "v1", "u", 0),
        (Refusal{530,
                 "NOT_ALLOWED - access to vhost 'v1' refused for user 'u': connection limit "
                 "(0) is reached"}));
    EXPECT_EQ(
        check_vhost_queues({.max_connections = std::nullopt, .max_queues = 10}, "/", "q11", 10),
        (Refusal{406,
                 "PRECONDITION_FAILED - cannot declare queue 'q11': queue limit in vhost '/' "
                 "(10) is reached"}));
    EXPECT_EQ(check_user_connections({.max_connections = 2, .max_channels = std::nullopt}, "u", 2),
              (Refusal{530,
                       "NOT_ALLOWED - connection refused for user 'u': user connection limit (2) "
                       "is reached"}));
    EXPECT_EQ(
        check_user_channels({.max_connections = std::nullopt, .max_channels = 10}, "golang", 10),
        (Refusal{530,
                 "NOT_ALLOWED - number of channels opened for user 'golang' has reached the "
                 "maximum allowed user limit of (10)"}));
}

}  // namespace
}  // namespace lepus::access
