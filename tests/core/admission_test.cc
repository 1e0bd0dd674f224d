// Shard 0's counts for the connection and channel limits, and the admission that checks and
// counts in one step.
#include "core/admission.h"

#include <gtest/gtest.h>

#include "core/access/password_hash.h"

namespace lepus::core {
namespace {

class AdmissionTest : public ::testing::Test {
protected:
    AdmissionTest() {
        catalog_.add_vhost("/");
        catalog_.apply(UserPut{"u", access::hash_password("p"), {}});
    }
    static AdmissionRequest open_connection(const std::string& vhost, const std::string& user) {
        return AdmissionRequest{ChannelKey{ConnectionKey{ShardId(1), 3, 1}, 0, 0}, vhost, user};
    }
    static AdmissionRequest open_channel(const std::string& user) {
        return AdmissionRequest{ChannelKey{ConnectionKey{ShardId(1), 3, 1}, 5, 1}, "/", user};
    }
    Catalog catalog_;
    Admission admission_;
};

TEST_F(AdmissionTest, CountsWhatEveryShardReports) {
    admission_.apply({"/", "u", 1, 3});
    admission_.apply({"/", "u", 1, 0});
    admission_.apply({"/", "guest", 1, 1});
    EXPECT_EQ(admission_.vhost_connections("/"), 3u);
    EXPECT_EQ(admission_.user_connections("u"), 2u);
    EXPECT_EQ(admission_.user_channels("u"), 3u);
    admission_.apply({"/", "u", -1, -3});
    EXPECT_EQ(admission_.user_connections("u"), 1u);
    EXPECT_EQ(admission_.user_channels("u"), 0u);
    EXPECT_EQ(admission_.vhost_connections("/"), 2u);
}

TEST_F(AdmissionTest, AdmitsUpToTheVhostLimitAndCountsWhatItAdmits) {
    catalog_.apply(VhostLimitsPut{"/", {2, std::nullopt}});
    admission_.apply({"/", "other", 1, 0});  // a connection on another shard
    EXPECT_FALSE(admission_.admit(open_connection("/", "u"), catalog_));
    std::optional<access::Refusal> refused = admission_.admit(open_connection("/", "u"), catalog_);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->reply_code, 530);
    EXPECT_EQ(refused->text,
              "NOT_ALLOWED - access to vhost '/' refused for user 'u': connection limit (2) is "
              "reached");
    EXPECT_EQ(admission_.vhost_connections("/"), 2u);
    admission_.apply({"/", "other", -1, 0});
    EXPECT_FALSE(admission_.admit(open_connection("/", "u"), catalog_));
}

TEST_F(AdmissionTest, UserLimitsOnConnectionsAndChannels) {
    catalog_.apply(UserLimitsPut{"u", {1, 2}});
    EXPECT_FALSE(admission_.admit(open_connection("/", "u"), catalog_));
    std::optional<access::Refusal> refused = admission_.admit(open_connection("/", "u"), catalog_);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->text,
              "NOT_ALLOWED - connection refused for user 'u': user connection limit (1) is "
              "reached");
    EXPECT_FALSE(admission_.admit(open_channel("u"), catalog_));
    EXPECT_FALSE(admission_.admit(open_channel("u"), catalog_));
    refused = admission_.admit(open_channel("u"), catalog_);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->text,
              "NOT_ALLOWED - number of channels opened for user 'u' has reached the maximum "
              "allowed user limit of (2)");
    admission_.apply({"/", "u", 0, -1});
    EXPECT_FALSE(admission_.admit(open_channel("u"), catalog_));
    // A negative limit is no limit; 0 admits none.
    catalog_.apply(UserLimitsPut{"u", {-1, 0}});
    EXPECT_FALSE(admission_.admit(open_connection("/", "u"), catalog_));
    EXPECT_TRUE(admission_.admit(open_channel("u"), catalog_));
}

}  // namespace
}  // namespace lepus::core
