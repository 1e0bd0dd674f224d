#include "app/ctl/admin_commands.h"

#include <gtest/gtest.h>

#include <vector>

namespace lepus::ctl {
namespace {

struct Argv {
    explicit Argv(std::vector<const char*> args) : values(std::move(args)) {
        values.insert(values.begin(), "lepusctl");
    }
    int argc() const { return static_cast<int>(values.size()); }
    const char* const* argv() const { return values.data(); }
    std::vector<const char*> values;
};

AdminParse parse(std::vector<const char*> args, AdminLine& line, std::string& error,
                 const char* data_dir = nullptr) {
    Argv argv(std::move(args));
    return parse_admin_command_line(argv.argc(), argv.argv(), data_dir, line, error);
}

TEST(AdminCommandLine, EveryCommandOfTheBriefIsInTheTable) {
    for (const char* name : {"add_user",
                             "delete_user",
                             "change_password",
                             "clear_password",
                             "authenticate_user",
                             "set_user_tags",
                             "list_users",
                             "add_vhost",
                             "delete_vhost",
                             "list_vhosts",
                             "set_permissions",
                             "clear_permissions",
                             "list_permissions",
                             "list_user_permissions",
                             "set_topic_permissions",
                             "clear_topic_permissions",
                             "list_topic_permissions",
                             "list_user_topic_permissions",
                             "set_vhost_limits",
                             "clear_vhost_limits",
                             "list_vhost_limits",
                             "set_user_limits",
                             "clear_user_limits",
                             "list_user_limits",
                             "list_queues",
                             "list_exchanges",
                             "list_bindings",
                             "list_connections",
                             "list_channels",
                             "list_consumers",
                             "close_connection",
                             "close_all_connections",
                             "purge_queue",
                             "delete_queue",
                             "export_definitions",
                             "import_definitions",
                             "status",
                             "await_startup"}) {
        EXPECT_NE(find_admin_command(name), nullptr) << name;
    }
    EXPECT_EQ(find_admin_command("declare-queue"), nullptr);
}

TEST(AdminCommandLine, DefaultsAndGlobalOptions) {
    AdminLine line;
    std::string error;
    ASSERT_EQ(parse({"list_users"}, line, error), AdminParse::run);
    EXPECT_EQ(line.vhost, "/");
    EXPECT_EQ(line.data_dir, "./lepus-data");
    EXPECT_EQ(line.timeout_s, admin_timeout_default_s);
    EXPECT_FALSE(line.quiet);
    EXPECT_TRUE(line.table_headers);
    EXPECT_EQ(line.formatter, Formatter::table);

    AdminLine options;
    ASSERT_EQ(parse({"-q", "list_permissions", "-p", "v1", "--no-table-headers", "--formatter",
                     "json", "-t", "5", "--data-dir=/d"},
                    options, error),
              AdminParse::run);
    EXPECT_TRUE(options.quiet);
    EXPECT_FALSE(options.table_headers);
    EXPECT_EQ(options.formatter, Formatter::json);
    EXPECT_EQ(options.timeout_s, 5u);
    EXPECT_EQ(options.vhost, "v1");
    EXPECT_EQ(options.data_dir, "/d");

    AdminLine long_names;
    ASSERT_EQ(parse({"list_queues", "--vhost=v2", "--quiet", "--timeout", "7"}, long_names, error),
              AdminParse::run);
    EXPECT_EQ(long_names.vhost, "v2");
    EXPECT_TRUE(long_names.quiet);
    EXPECT_EQ(long_names.timeout_s, 7u);
}

TEST(AdminCommandLine, DataDirectoryFromTheEnvironmentUnlessGiven) {
    AdminLine line;
    std::string error;
    ASSERT_EQ(parse({"list_users"}, line, error, "/env"), AdminParse::run);
    EXPECT_EQ(line.data_dir, "/env");
    AdminLine given;
    ASSERT_EQ(parse({"list_users", "--data-dir", "/flag"}, given, error, "/env"), AdminParse::run);
    EXPECT_EQ(given.data_dir, "/flag");
}

TEST(AdminCommandLine, AwaitStartupWaitsFiveMinutesByDefault) {
    AdminLine line;
    std::string error;
    ASSERT_EQ(parse({"await_startup"}, line, error), AdminParse::run);
    EXPECT_EQ(line.timeout_s, await_startup_timeout_default_s);
}

TEST(AdminCommandLine, ArityAsRabbitmqctl) {
    struct Case {
        std::vector<const char*> args;
        const char* error;
    };
    std::vector<Case> cases = {
        {{"add_user", "a"}, "not enough arguments."},
        {{"add_user", "a", "b", "c"}, "too many arguments."},
        {{"delete_user"}, "not enough arguments."},
        {{"list_users", "extra"}, "too many arguments."},
        {{"set_permissions", "u", ".*", ".*"}, "not enough arguments."},
        {{"close_all_connections"}, "not enough arguments."},
        {{"export_definitions"}, "not enough arguments."},
        {{"clear_topic_permissions", "u", "e", "x"}, "too many arguments."},
        {{"list_vhosts", "bogus"}, "Info key(s) bogus are not supported"},
        {{"list_queues", "name", "a", "b"}, "Info key(s) a,b are not supported"},
        {{"list_connections", "user_who_performed_action"},
         "Info key(s) user_who_performed_action are not supported"},
        {{"list_users", "-t", "abc"}, "Invalid options for this command:\n-t : abc"},
        {{"list_users", "--formatter", "xml"},
         "Invalid options for this command:\n--formatter : xml"},
        {{"list_users", "--bogus"}, "Invalid options for this command:\n--bogus : "},
        {{"list_users", "--if-empty"}, "Invalid options for this command:\n--if-empty : "},
    };
    for (const Case& c : cases) {
        AdminLine line;
        std::string error;
        EXPECT_EQ(parse(c.args, line, error), AdminParse::usage_error) << c.args[0];
        EXPECT_EQ(error, c.error) << c.args[0];
    }
}

TEST(AdminCommandLine, SetUserTagsTakesAnyNumberOfTags) {
    AdminLine line;
    std::string error;
    ASSERT_EQ(parse({"set_user_tags", "bob"}, line, error), AdminParse::run);
    EXPECT_EQ(line.positionals.size(), 1u);
    AdminLine many;
    ASSERT_EQ(parse({"set_user_tags", "bob", "administrator", "monitoring"}, many, error),
              AdminParse::run);
    EXPECT_EQ(many.positionals.size(), 3u);
}

TEST(AdminCommandLine, ColumnsDefaultToRabbitmqctl310s) {
    struct Case {
        const char* command;
        std::vector<std::string> columns;
    };
    std::vector<Case> cases = {
        {"list_queues", {"name", "messages"}},
        {"list_exchanges", {"name", "type"}},
        {"list_bindings",
         {"source_name", "source_kind", "destination_name", "destination_kind", "routing_key",
          "arguments"}},
        {"list_connections", {"user", "peer_host", "peer_port", "state"}},
        {"list_channels", {"pid", "user", "consumer_count", "messages_unacknowledged"}},
        {"list_consumers",
         {"queue_name", "channel_pid", "consumer_tag", "ack_required", "prefetch_count", "active",
          "arguments"}},
        {"list_vhosts", {"name"}},
    };
    for (const Case& c : cases) {
        AdminLine line;
        std::string error;
        ASSERT_EQ(parse({c.command}, line, error), AdminParse::run) << c.command;
        EXPECT_EQ(line.columns, c.columns) << c.command;
    }
    AdminLine chosen;
    std::string error;
    ASSERT_EQ(parse({"list_queues", "-p", "v", "arguments", "name"}, chosen, error),
              AdminParse::run);
    EXPECT_EQ(chosen.columns, (std::vector<std::string>{"arguments", "name"}));
}

TEST(AdminCommandLine, CommandOptions) {
    AdminLine line;
    std::string error;
    ASSERT_EQ(parse({"delete_queue", "q", "-e", "--if-unused"}, line, error), AdminParse::run);
    EXPECT_TRUE(line.if_empty);
    EXPECT_TRUE(line.if_unused);
    AdminLine limits;
    ASSERT_EQ(parse({"list_user_limits", "--user", "bob"}, limits, error), AdminParse::run);
    EXPECT_EQ(limits.user, "bob");
    AdminLine global;
    ASSERT_EQ(parse({"list_vhost_limits", "--global"}, global, error), AdminParse::run);
    EXPECT_TRUE(global.global);
    AdminLine close;
    ASSERT_EQ(parse({"close_all_connections", "--limit", "3", "bye"}, close, error),
              AdminParse::run);
    EXPECT_EQ(close.limit, 3u);
    EXPECT_EQ(close.positionals, std::vector<std::string>{"bye"});
}

TEST(AdminCommandLine, UnknownCommand) {
    AdminLine line;
    std::string error;
    EXPECT_EQ(parse({"frobnicate"}, line, error), AdminParse::unknown_command);
    EXPECT_EQ(parse({}, line, error), AdminParse::unknown_command);
}

TEST(AdminCommandLine, CommandWordSkipsOptionValues) {
    Argv a({"--host", "h:1", "--vhost", "/", "status"});
    EXPECT_EQ(command_word(a.argc(), a.argv()), "status");
    EXPECT_TRUE(has_amqp_connection_options(a.argc(), a.argv()));
    Argv b({"-p", "list_users", "list_queues"});
    EXPECT_EQ(command_word(b.argc(), b.argv()), "list_queues");
    EXPECT_FALSE(has_amqp_connection_options(b.argc(), b.argv()));
    Argv c({"--data-dir=/d", "-q", "status"});
    EXPECT_EQ(command_word(c.argc(), c.argv()), "status");
    EXPECT_FALSE(has_amqp_connection_options(c.argc(), c.argv()));
    Argv d({"status", "--user=guest"});
    EXPECT_TRUE(has_amqp_connection_options(d.argc(), d.argv()));
}

TEST(AdminCommandLine, UsageErrorLayout) {
    Argv argv({"add_user", "a"});
    std::string text = admin_usage_error_text(find_admin_command("add_user"),
                                              "not enough arguments.", argv.argc(), argv.argv());
    EXPECT_EQ(text,
              "Error (argument validation): not enough arguments.\nArguments given:\n\tadd_user "
              "a\n\n\x1b[1mUsage\x1b[0m\n\nlepusctl [--data-dir <dir>] [--quiet] add_user "
              "<username> <password>\n");
}

}  // namespace
}  // namespace lepus::ctl
