#include "core/access/user_table.h"

#include <gtest/gtest.h>

#include "core/access/password_hash.h"
#include "tests/core/access/refusal_printer.h"

namespace lepus::access {
namespace {

TEST(UserTableTest, AddFindAndList) {
    UserTable users;
    EXPECT_EQ(users.add("bob", "b"), UserOutcome::ok);
    EXPECT_EQ(users.add("alice", "a"), UserOutcome::ok);
    EXPECT_EQ(users.add("alice", "other"), UserOutcome::already_exists);
    ASSERT_EQ(users.size(), 2u);
    const User* alice = users.find("alice");
    ASSERT_NE(alice, nullptr);
    EXPECT_EQ(alice->name, "alice");
    EXPECT_EQ(alice->password_hash.size(), password_hash_size);
    EXPECT_TRUE(alice->tags.empty());
    EXPECT_EQ(users.find("carol"), nullptr);
    std::vector<const User*> listed = users.list();
    ASSERT_EQ(listed.size(), 2u);
    EXPECT_EQ(listed[0]->name, "alice");
    EXPECT_EQ(listed[1]->name, "bob");
    // The failed add left alice's password alone.
    EXPECT_EQ(users.authenticate("alice", "a"), LoginOutcome::ok);
}

TEST(UserTableTest, EveryOperationOnAMissingUserSaysSo) {
    UserTable users;
    EXPECT_EQ(users.remove("nobody"), UserOutcome::no_such_user);
    EXPECT_EQ(users.change_password("nobody", "x"), UserOutcome::no_such_user);
    EXPECT_EQ(users.clear_password("nobody"), UserOutcome::no_such_user);
    EXPECT_EQ(users.set_tags("nobody", {"administrator"}), UserOutcome::no_such_user);
    EXPECT_EQ(users.size(), 0u);
}

// rabbitmqctl 3.10's error lines, as it printed them.
TEST(UserTableTest, DescribesOutcomesInRabbitmqctlsWords) {
    EXPECT_EQ(describe(UserOutcome::already_exists, "alice"), "User \"alice\" already exists");
    EXPECT_EQ(describe(UserOutcome::no_such_user, "nobody"), "User \"nobody\" does not exist");
    EXPECT_EQ(describe(UserOutcome::ok, "alice"), "");
    EXPECT_EQ(describe(LoginOutcome::invalid_credentials, "alice"),
              "user 'alice' - invalid credentials");
    EXPECT_EQ(describe(LoginOutcome::blank_password, "alice"),
              "user 'alice' attempted to log in with a blank password, which is prohibited by "
              "the internal authN backend. To use TLS/x509 certificate-based authentication, see "
              "the rabbitmq_auth_mechanism_ssl plugin and configure the client to use the "
              "EXTERNAL authentication mechanism. Alternatively change the password for the user "
              "to be non-blank.");
}

struct LoginCase {
    std::string_view name;
    std::string_view password;
    LoginOutcome expected;
};

TEST(UserTableTest, AuthenticatesAsRabbitMQsInternalBackend) {
    UserTable users;
    ASSERT_EQ(users.add("alice", "secret1"), UserOutcome::ok);
    ASSERT_EQ(users.add("empty", ""), UserOutcome::ok);  // RabbitMQ accepts it too
    ASSERT_EQ(users.add("cleared", "pw"), UserOutcome::ok);
    ASSERT_EQ(users.clear_password("cleared"), UserOutcome::ok);
    const LoginCase cases[] = {
        {"alice", "secret1", LoginOutcome::ok},
        {"alice", "secret2", LoginOutcome::invalid_credentials},
        {"alice", "Secret1", LoginOutcome::invalid_credentials},
        {"alice", "", LoginOutcome::blank_password},
        {"Alice", "secret1", LoginOutcome::invalid_credentials},  // names are case-sensitive
        {"nobody", "secret1", LoginOutcome::invalid_credentials},
        {"nobody", "", LoginOutcome::blank_password},  // checked before the user is looked up
        {"empty", "", LoginOutcome::blank_password},
        {"empty", "x", LoginOutcome::invalid_credentials},
        {"cleared", "pw", LoginOutcome::invalid_credentials},
        {"cleared", "", LoginOutcome::blank_password},
    };
    for (const LoginCase& c : cases) {
        EXPECT_EQ(users.authenticate(c.name, c.password), c.expected)
            << c.name << " / " << c.password;
    }
}

TEST(UserTableTest, ChangePasswordReplacesTheHash) {
    UserTable users;
    ASSERT_EQ(users.add("alice", "old"), UserOutcome::ok);
    ASSERT_EQ(users.change_password("alice", "new"), UserOutcome::ok);
    EXPECT_EQ(users.authenticate("alice", "old"), LoginOutcome::invalid_credentials);
    EXPECT_EQ(users.authenticate("alice", "new"), LoginOutcome::ok);
    // A cleared password comes back with change_password.
    ASSERT_EQ(users.clear_password("alice"), UserOutcome::ok);
    EXPECT_TRUE(users.find("alice")->password_hash.empty());
    EXPECT_EQ(password_hash_base64(*users.find("alice")), "");
    ASSERT_EQ(users.change_password("alice", "again"), UserOutcome::ok);
    EXPECT_EQ(users.authenticate("alice", "again"), LoginOutcome::ok);
}

TEST(UserTableTest, RemoveForgetsTheUser) {
    UserTable users;
    ASSERT_EQ(users.add("alice", "pw"), UserOutcome::ok);
    EXPECT_EQ(users.remove("alice"), UserOutcome::ok);
    EXPECT_EQ(users.find("alice"), nullptr);
    EXPECT_EQ(users.authenticate("alice", "pw"), LoginOutcome::invalid_credentials);
    EXPECT_EQ(users.remove("alice"), UserOutcome::no_such_user);
    EXPECT_EQ(users.add("alice", "pw2"), UserOutcome::ok);
}

TEST(UserTableTest, TagsKeepTheirOrderAndUnknownTags) {
    UserTable users;
    ASSERT_EQ(users.add("alice", "pw"), UserOutcome::ok);
    ASSERT_EQ(users.set_tags("alice", {"monitoring", "foo", "administrator"}), UserOutcome::ok);
    const User& alice = *users.find("alice");
    EXPECT_EQ(alice.tags, (std::vector<std::string>{"monitoring", "foo", "administrator"}));
    EXPECT_TRUE(alice.has_tag(tag_administrator));
    EXPECT_TRUE(alice.has_tag(tag_monitoring));
    EXPECT_TRUE(alice.has_tag("foo"));
    EXPECT_FALSE(alice.has_tag(tag_impersonator));
    EXPECT_FALSE(alice.has_tag("Administrator"));
    // As `rabbitmqctl list_users` printed them.
    EXPECT_EQ(format_tags(alice.tags), "[monitoring, foo, administrator]");
    EXPECT_EQ(format_tags({}), "[]");
    ASSERT_EQ(users.set_tags("alice", {}), UserOutcome::ok);
    EXPECT_TRUE(users.find("alice")->tags.empty());
}

TEST(UserTableTest, UserIdMustBeTheUserUnlessImpersonator) {
    UserTable users;
    ASSERT_EQ(users.add("alice", "pw"), UserOutcome::ok);
    const User& alice = *users.find("alice");
    EXPECT_FALSE(check_user_id(alice, "alice"));
    // As a running RabbitMQ 3.10 refused pika's publish.
    EXPECT_EQ(check_user_id(alice, "bob"),
              (Refusal{406,
                       "PRECONDITION_FAILED - user_id property set to 'bob' but authenticated "
                       "user was 'alice'"}));
    EXPECT_TRUE(check_user_id(alice, "Alice"));
    EXPECT_TRUE(check_user_id(alice, ""));
    ASSERT_EQ(users.set_tags("alice", {"administrator"}), UserOutcome::ok);
    EXPECT_TRUE(check_user_id(*users.find("alice"), "bob"));  // administrator is not enough
    ASSERT_EQ(users.set_tags("alice", {"impersonator"}), UserOutcome::ok);
    EXPECT_FALSE(check_user_id(*users.find("alice"), "bob"));
}

TEST(UserTableTest, ImportsRabbitMQsExportedHashes) {
    UserTable users;
    // guest / guest from RabbitMQ 3.10's export_definitions.
    ASSERT_EQ(users.add_with_hash("guest", "9gdsHI3YK4tAur58CitXi1rDzM18Q8LhbrygsRazzhMllyjl",
                                  {"administrator"}),
              UserOutcome::ok);
    EXPECT_EQ(users.authenticate("guest", "guest"), LoginOutcome::ok);
    EXPECT_EQ(users.authenticate("guest", "guesT"), LoginOutcome::invalid_credentials);
    EXPECT_EQ(password_hash_base64(*users.find("guest")),
              "9gdsHI3YK4tAur58CitXi1rDzM18Q8LhbrygsRazzhMllyjl");
    EXPECT_EQ(users.find("guest")->tags, std::vector<std::string>{"administrator"});
    EXPECT_EQ(users.add_with_hash("guest", "", {}), UserOutcome::already_exists);
    // A user without a password, as a cleared one exports.
    ASSERT_EQ(users.add_with_hash("nopass", "", {}), UserOutcome::ok);
    EXPECT_EQ(users.authenticate("nopass", "x"), LoginOutcome::invalid_credentials);
    // Not base64, or base64 of the wrong size: nothing is added.
    for (std::string_view bad : {"not base64!", "9gdsHI3YK4tAur58", "9gdsHI3YK4tAur58CitXi1rDzM18",
                                 "9gdsHI3YK4tAur58CitXi1rDzM18Q8LhbrygsRazzhMllyjlAAAA"}) {
        EXPECT_EQ(users.add_with_hash("broken", bad, {}), UserOutcome::invalid_hash) << bad;
        EXPECT_EQ(users.find("broken"), nullptr);
    }
}

}  // namespace
}  // namespace lepus::access
