#include "core/access/permission_table.h"

#include <gtest/gtest.h>

#include "tests/core/access/refusal_printer.h"

namespace lepus::access {
namespace {

struct MatchCase {
    std::string_view pattern;
    std::string_view name;
    bool matches;
};

// re:run(Name, Pattern, [{capture, none}]) in RabbitMQ: a search, not a whole-name match.
TEST(PermissionPatternTest, MatchesAsAnUnanchoredSearch) {
    const MatchCase cases[] = {
        {"foo", "foo", true},
        {"foo", "xfooy", true},  // unanchored
        {"foo", "fo", false},
        {"^foo$", "foo", true},
        {"^foo$", "xfoo", false},
        {"^foo$", "foox", false},
        {"^foo", "foox", true},
        {"foo$", "xfoo", true},
        {"", "", true},  // "" is ^$
        {"", "x", false},
        {"", "amq.default", false},
        {".*", "", true},
        {".*", "anything at all", true},
        {"^$", "", true},
        {"^(app1|app2)\\.", "app2.orders", true},
        {"^(app1|app2)\\.", "app3.orders", false},
        {"^amq\\.gen-", "amq.gen-Xa2", true},
        {"[", "[", false},             // invalid: never compiled, see below
        {"(?i)^FOO", "foobar", true},  // PCRE's syntax, which ECMAScript lacks
        {"\\Afoo\\z", "foo", true},
        {"a++b", "aab", true},
        {"^caf\xc3\xa9$", "caf\xc3\xa9", true},  // bytes, as RabbitMQ (no unicode option)
        {"^caf.$", "caf\xc3\xa9", false},        // one byte of two: not UTF mode
    };
    for (const MatchCase& c : cases) {
        std::optional<PermissionPattern> pattern = PermissionPattern::compile(c.pattern);
        if (c.pattern == "[") {
            EXPECT_FALSE(pattern);
            continue;
        }
        ASSERT_TRUE(pattern) << c.pattern;
        EXPECT_EQ(pattern->matches(c.name), c.matches) << c.pattern << " on " << c.name;
        EXPECT_EQ(pattern->source(), c.pattern);
    }
}

TEST(PermissionPatternTest, RejectsWhatPCRERejects) {
    for (std::string_view bad : {"(", ")", "[a-", "*", "a{2,1}", "(?<", "\\"}) {
        EXPECT_FALSE(PermissionPattern::compile(bad)) << bad;
    }
}

TEST(PermissionPatternTest, MatchesAnEmptyViewWithoutData) {
    EXPECT_TRUE(PermissionPattern::compile("")->matches(std::string_view()));
    EXPECT_TRUE(PermissionPattern::compile(".*")->matches(std::string_view()));
    EXPECT_FALSE(PermissionPattern::compile("x")->matches(std::string_view()));
}

TEST(PermissionPatternTest, CopiesShareTheCompiledCode) {
    PermissionPattern first = *PermissionPattern::compile("^q");
    PermissionPattern second = first;
    EXPECT_TRUE(second.matches("queue"));
    EXPECT_FALSE(second.matches("exchange"));
}

TEST(PermissionTableTest, SetsFindsAndClears) {
    PermissionTable table;
    EXPECT_EQ(table.set("u", "/", "^c", "^w", "^r"), PermissionOutcome::ok);
    const Permissions* p = table.find("u", "/");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->configure.source(), "^c");
    EXPECT_EQ(p->write.source(), "^w");
    EXPECT_EQ(p->read.source(), "^r");
    EXPECT_EQ(table.find("u", "other"), nullptr);
    EXPECT_EQ(table.find("v", "/"), nullptr);
    // Setting again replaces all three.
    EXPECT_EQ(table.set("u", "/", "", "x", "y"), PermissionOutcome::ok);
    EXPECT_EQ(table.find("u", "/")->configure.source(), "");
    EXPECT_EQ(table.clear("u", "/"), 1u);
    EXPECT_EQ(table.find("u", "/"), nullptr);
    EXPECT_EQ(table.clear("u", "/"), 0u);
}

TEST(PermissionTableTest, AnInvalidPatternChangesNothing) {
    PermissionTable table;
    ASSERT_EQ(table.set("u", "/", ".*", ".*", ".*"), PermissionOutcome::ok);
    std::string rejected;
    EXPECT_EQ(table.set("u", "/", "^ok", "(", ".*", &rejected), PermissionOutcome::invalid_pattern);
    EXPECT_EQ(rejected, "(");
    EXPECT_EQ(table.find("u", "/")->configure.source(), ".*");
    EXPECT_EQ(table.set_topic("u", "/", "amq.topic", ".*", "[", &rejected),
              PermissionOutcome::invalid_pattern);
    EXPECT_EQ(rejected, "[");
    EXPECT_EQ(table.find_topic("u", "/", "amq.topic"), nullptr);
}

// rabbitmqctl 3.10's words for set_permissions' refusals, as it printed them.
TEST(PermissionTableTest, DescribesOutcomesInRabbitmqctlsWords) {
    EXPECT_EQ(describe(PermissionOutcome::no_such_user, "nobody"), "User nobody does not exist");
    EXPECT_EQ(describe(PermissionOutcome::no_such_vhost, "nohost"),
              "Virtual host nohost does not exist");
    EXPECT_EQ(describe(PermissionOutcome::invalid_pattern, "("),
              "regular expression '(' is invalid");
}

struct ResourceCase {
    ResourceKind kind;
    std::string_view name;
    Permission permission;
    bool allowed;
};

TEST(PermissionTableTest, ChecksEachPermissionAgainstItsOwnPattern) {
    PermissionTable table;
    // configure only "^app\.", write only the exact name "app.in", read nothing but "".
    ASSERT_EQ(table.set("u", "/", "^app\\.", "^app\\.in$", ""), PermissionOutcome::ok);
    const ResourceCase cases[] = {
        {ResourceKind::queue, "app.q", Permission::configure, true},
        {ResourceKind::queue, "xapp.q", Permission::configure, false},
        {ResourceKind::exchange, "app.x", Permission::configure, true},
        {ResourceKind::exchange, "app.in", Permission::write, true},
        {ResourceKind::exchange, "app.in2", Permission::write, false},
        {ResourceKind::queue, "app.in", Permission::read, false},
        {ResourceKind::queue, "", Permission::read, true},
        // The default exchange is checked as "amq.default", so "" patterns do not allow it.
        {ResourceKind::exchange, "", Permission::read, false},
        {ResourceKind::exchange, "", Permission::write, false},
    };
    for (const ResourceCase& c : cases) {
        std::optional<Refusal> refusal =
            table.check_resource("u", {c.kind, "/", c.name}, c.permission);
        EXPECT_EQ(!refusal, c.allowed)
            << to_string(c.permission) << " " << to_string(c.kind) << " '" << c.name << "'";
    }
}

TEST(PermissionTableTest, TheDefaultExchangeIsAmqDefault) {
    PermissionTable table;
    ASSERT_EQ(table.set("u", "/", "", "^amq\\.default$", ""), PermissionOutcome::ok);
    EXPECT_FALSE(table.check_resource("u", {ResourceKind::exchange, "/", ""}, Permission::write));
    // Only exchanges are renamed: a queue named "" is just "".
    EXPECT_TRUE(table.check_resource("u", {ResourceKind::queue, "/", ""}, Permission::write));
    std::optional<Refusal> refusal =
        table.check_resource("u", {ResourceKind::exchange, "/", ""}, Permission::read);
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->text,
              "ACCESS_REFUSED - access to exchange 'amq.default' in vhost '/' refused for user "
              "'u'");
}

TEST(PermissionTableTest, NoEntryRefusesEverything) {
    PermissionTable table;
    ASSERT_EQ(table.set("u", "/", ".*", ".*", ".*"), PermissionOutcome::ok);
    for (Permission permission : {Permission::configure, Permission::write, Permission::read}) {
        EXPECT_TRUE(table.check_resource("u", {ResourceKind::queue, "other", "q"}, permission));
        EXPECT_TRUE(table.check_resource("v", {ResourceKind::queue, "/", "q"}, permission));
        EXPECT_FALSE(table.check_resource("u", {ResourceKind::queue, "/", "q"}, permission));
    }
}

// The texts of rabbit_access_control, as a running RabbitMQ 3.10 sent them to pika (3.10 does
// not name the permission; later releases do).
TEST(PermissionTableTest, RefusesWithRabbitMQsTexts) {
    PermissionTable table;
    ASSERT_EQ(table.set("u", "/", "", "", ""), PermissionOutcome::ok);
    EXPECT_EQ(
        table.check_resource("u", {ResourceKind::queue, "/", "q"}, Permission::read),
        (Refusal{403, "ACCESS_REFUSED - access to queue 'q' in vhost '/' refused for user 'u'"}));
    EXPECT_EQ(table.check_resource("u", {ResourceKind::exchange, "/", "x"}, Permission::configure),
              (Refusal{403,
                       "ACCESS_REFUSED - access to exchange 'x' in vhost '/' refused for user "
                       "'u'"}));
    EXPECT_EQ(
        table.check_resource("u", {ResourceKind::queue, "v1", "q"}, Permission::write),
        (Refusal{403, "ACCESS_REFUSED - access to queue 'q' in vhost 'v1' refused for user 'u'"}));
    EXPECT_FALSE(table.check_vhost("u", "/"));
    EXPECT_EQ(table.check_vhost("u", "v1"),
              (Refusal{530, "NOT_ALLOWED - access to vhost 'v1' refused for user 'u'"}));
}

TEST(PermissionTableTest, RemovingAUserOrVhostDropsTheirEntries) {
    PermissionTable table;
    ASSERT_EQ(table.set("u", "/", ".*", ".*", ".*"), PermissionOutcome::ok);
    ASSERT_EQ(table.set("u", "v", ".*", ".*", ".*"), PermissionOutcome::ok);
    ASSERT_EQ(table.set("w", "v", ".*", ".*", ".*"), PermissionOutcome::ok);
    ASSERT_EQ(table.set_topic("u", "v", "t", ".*", ".*"), PermissionOutcome::ok);
    ASSERT_EQ(table.set_topic("w", "/", "t", ".*", ".*"), PermissionOutcome::ok);
    table.remove_user("u");
    EXPECT_EQ(table.find("u", "/"), nullptr);
    EXPECT_EQ(table.find("u", "v"), nullptr);
    EXPECT_EQ(table.find_topic("u", "v", "t"), nullptr);
    EXPECT_NE(table.find("w", "v"), nullptr);
    table.remove_vhost("v");
    EXPECT_EQ(table.find("w", "v"), nullptr);
    EXPECT_NE(table.find_topic("w", "/", "t"), nullptr);
}

struct TopicCase {
    std::string_view user;
    std::string_view routing_key;
    Permission permission;
    std::optional<std::string_view> client_id;
    bool allowed;
};

TEST(TopicPermissionTest, ExpandsVariablesAndMatchesTheRoutingKey) {
    PermissionTable table;
    for (std::string_view user : {"alice", "bob"}) {
        ASSERT_EQ(
            table.set_topic(user, "prod", "events", "^{username}\\.", "^{vhost}\\.{client_id}$"),
            PermissionOutcome::ok);
    }
    const TopicCase cases[] = {
        {"alice", "alice.orders", Permission::write, std::nullopt, true},
        {"alice", "bob.orders", Permission::write, std::nullopt, false},
        {"bob", "bob.orders", Permission::write, std::nullopt, true},
        {"alice", "xalice.orders", Permission::write, std::nullopt, false},
        {"alice", "prod.c1", Permission::read, "c1", true},
        {"alice", "prod.c2", Permission::read, "c1", false},
        // Without a client id the placeholder stays as written: only the literal text matches.
        {"alice", "prod.c1", Permission::read, std::nullopt, false},
        {"alice", "prod.{client_id}", Permission::read, std::nullopt, true},
    };
    for (const TopicCase& c : cases) {
        std::optional<Refusal> refusal =
            table.check_topic(c.user, "prod", "events", c.routing_key, c.permission, c.client_id);
        EXPECT_EQ(!refusal, c.allowed)
            << c.user << " " << to_string(c.permission) << " " << c.routing_key;
    }
}

TEST(TopicPermissionTest, NoEntryAllowsAndTheEmptyPatternAllowsOnlyTheEmptyKey) {
    PermissionTable table;
    EXPECT_FALSE(table.check_topic("u", "/", "amq.topic", "a.b", Permission::write, std::nullopt));
    ASSERT_EQ(table.set_topic("u", "/", "amq.topic", "", ".*"), PermissionOutcome::ok);
    EXPECT_TRUE(table.check_topic("u", "/", "amq.topic", "a.b", Permission::write, std::nullopt));
    EXPECT_FALSE(table.check_topic("u", "/", "amq.topic", "", Permission::write, std::nullopt));
    EXPECT_FALSE(table.check_topic("u", "/", "amq.topic", "a.b", Permission::read, std::nullopt));
    // Another exchange, vhost or user has no entry.
    EXPECT_FALSE(table.check_topic("u", "/", "other", "a.b", Permission::write, std::nullopt));
    EXPECT_FALSE(table.check_topic("u", "v", "amq.topic", "a.b", Permission::write, std::nullopt));
    EXPECT_FALSE(table.check_topic("w", "/", "amq.topic", "a.b", Permission::write, std::nullopt));
}

TEST(TopicPermissionTest, RefusesWithRabbitMQsText) {
    PermissionTable table;
    ASSERT_EQ(table.set_topic("u", "/", "amq.topic", "^{username}-", ".*"), PermissionOutcome::ok);
    EXPECT_EQ(table.check_topic("u", "/", "amq.topic", "x.y", Permission::write, std::nullopt),
              (Refusal{403,
                       "ACCESS_REFUSED - access to topic 'x.y' in exchange 'amq.topic' in vhost "
                       "'/' refused for user 'u'"}));
    const TopicPermissions* topic = table.find_topic("u", "/", "amq.topic");
    ASSERT_NE(topic, nullptr);
    EXPECT_EQ(topic->write.source, "^{username}-");  // listed as set, not expanded
}

TEST(TopicPermissionTest, ClearsOneExchangeOrAll) {
    PermissionTable table;
    ASSERT_EQ(table.set_topic("u", "/", "a", ".*", ".*"), PermissionOutcome::ok);
    ASSERT_EQ(table.set_topic("u", "/", "b", ".*", ".*"), PermissionOutcome::ok);
    ASSERT_EQ(table.set_topic("u", "v", "a", ".*", ".*"), PermissionOutcome::ok);
    EXPECT_EQ(table.clear_topic("u", "/", "a"), 1u);
    EXPECT_EQ(table.find_topic("u", "/", "a"), nullptr);
    EXPECT_NE(table.find_topic("u", "/", "b"), nullptr);
    EXPECT_EQ(table.clear_topic("u", "/", "a"), 0u);
    ASSERT_EQ(table.set_topic("u", "/", "c", ".*", ".*"), PermissionOutcome::ok);
    EXPECT_EQ(table.clear_topic("u", "/", std::nullopt), 2u);
    EXPECT_EQ(table.find_topic("u", "/", "b"), nullptr);
    EXPECT_NE(table.find_topic("u", "v", "a"), nullptr);
}

// expand_topic_permission/2: literal replacement, values not escaped, keys in sorted order.
TEST(TopicPermissionTest, ExpandsAsRabbitMQDoes) {
    EXPECT_EQ(expand_topic_variables("^{username}.{vhost}.{client_id}.{other}",
                                     {"u", "v", std::string_view("c")}),
              "^u.v.c.{other}");
    EXPECT_EQ(expand_topic_variables("{username}{username}", {"u", "v", std::nullopt}), "uu");
    EXPECT_EQ(expand_topic_variables("{client_id}", {"u", "v", std::nullopt}), "{client_id}");
    // A client id holding a later placeholder is expanded again (client_id comes first) ...
    EXPECT_EQ(expand_topic_variables("{client_id}", {"u", "v", std::string_view("{vhost}")}), "v");
    // ... a user name holding an earlier one is not.
    EXPECT_EQ(expand_topic_variables("{username}", {"{client_id}", "v", std::string_view("c")}),
              "{client_id}");
    // Regex syntax in a value is not escaped: "a.b" matches "axb".
    PermissionTable table;
    ASSERT_EQ(table.set_topic("a.b", "/", "t", "^{username}$", ".*"), PermissionOutcome::ok);
    EXPECT_FALSE(table.check_topic("a.b", "/", "t", "axb", Permission::write, std::nullopt));
}

TEST(TopicPermissionTest, AnExpansionThatIsNotARegexRefuses) {
    PermissionTable table;
    // "^{username}$" is valid; with the user "a(" it is not, and refuses every key.
    ASSERT_EQ(table.set_topic("a(", "/", "t", "^{username}$", ".*"), PermissionOutcome::ok);
    EXPECT_TRUE(table.check_topic("a(", "/", "t", "a(", Permission::write, std::nullopt));
    EXPECT_FALSE(table.check_topic("a(", "/", "t", "a(", Permission::read, std::nullopt));
}

}  // namespace
}  // namespace lepus::access
