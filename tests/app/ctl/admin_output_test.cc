#include "app/ctl/admin_output.h"

#include <gtest/gtest.h>

#include <vector>

namespace lepus::ctl {
namespace {

AdminLine line_of(std::vector<const char*> args) {
    args.insert(args.begin(), "lepusctl");
    AdminLine line;
    std::string error;
    EXPECT_EQ(
        parse_admin_command_line(static_cast<int>(args.size()), args.data(), nullptr, line, error),
        AdminParse::run)
        << error;
    return line;
}

Json failure(const char* reason, const char* error) {
    return {{"ok", false}, {"reason", reason}, {"error", error}};
}

TEST(AdminRequest, FieldsOfTheProtocol) {
    EXPECT_EQ(admin_request(line_of({"add_user", "alice", "secret"})).dump(),
              R"({"command":"add_user","user":"alice","password":"secret"})");
    EXPECT_EQ(admin_request(line_of({"set_user_tags", "bob", "a", "b"})).dump(),
              R"({"command":"set_user_tags","user":"bob","tags":["a","b"]})");
    EXPECT_EQ(admin_request(line_of({"set_user_tags", "bob"})).dump(),
              R"({"command":"set_user_tags","user":"bob","tags":[]})");
    EXPECT_EQ(admin_request(line_of({"set_permissions", "-p", "v1", "bob", ".*", "", "a"})).dump(),
              R"({"command":"set_permissions","user":"bob","vhost":"v1","configure":".*",)"
              R"("write":"","read":"a"})");
    EXPECT_EQ(admin_request(line_of({"clear_topic_permissions", "bob"})).dump(),
              R"({"command":"clear_topic_permissions","user":"bob","vhost":"/"})");
    EXPECT_EQ(admin_request(line_of({"list_user_limits"})).dump(),
              R"({"command":"list_user_limits","user":"guest"})");
    EXPECT_EQ(admin_request(line_of({"list_vhost_limits", "--global"})).dump(),
              R"({"command":"list_vhost_limits","global":true})");
    EXPECT_EQ(admin_request(line_of({"delete_queue", "-p", "v", "q", "-e"})).dump(),
              R"({"command":"delete_queue","vhost":"v","queue":"q","if_empty":true,)"
              R"("if_unused":false})");
    EXPECT_EQ(admin_request(line_of({"close_all_connections", "--global", "bye"})).dump(),
              R"({"command":"close_all_connections","reason":"bye","limit":0})");
    EXPECT_EQ(admin_request(line_of({"close_connection", "a -> b", "why"})).dump(),
              R"({"command":"close_connection","name":"a -> b","reason":"why"})");
    EXPECT_EQ(admin_request(line_of({"await_startup"})).dump(), R"({"command":"ping"})");
}

TEST(AdminBanner, InfoLinesAsRabbitmqctl) {
    struct Case {
        std::vector<const char*> args;
        const char* banner;
    };
    std::vector<Case> cases = {
        {{"add_user", "alice", "pw"}, "Adding user \"alice\" ...\n"},
        {{"set_user_tags", "bob", "administrator", "monitoring"},
         "Setting tags for user \"bob\" to [administrator, monitoring] ...\n"},
        {{"set_permissions", "-p", "v1", "bob", ".*", "", ""},
         "Setting permissions for user \"bob\" in vhost \"v1\" ...\n"},
        {{"set_topic_permissions", "-p", "v1", "bob", "amq.topic", "^a", "^b"},
         "Setting topic permissions on \"amq.topic\" for user \"bob\" in vhost \"v1\" ...\n"},
        {{"clear_topic_permissions", "-p", "v1", "bob"},
         "Clearing topic permissions for user \"bob\" in vhost \"v1\" ...\n"},
        {{"set_vhost_limits", "-p", "v1", "{\"max-queues\": 5}"},
         "Setting vhost limits to \"{\"max-queues\": 5}\" for vhost \"v1\" ...\n"},
        {{"clear_user_limits", "bob", "all"}, "Clearing all limits for user \"bob\" ...\n"},
        {{"clear_user_limits", "bob", "max-channels"},
         "Clearing \"max-channels\" limit for user \"bob\" ...\n"},
        {{"list_queues", "-p", "v1", "-t", "5"},
         "Timeout: 5.0 seconds ...\nListing queues for vhost v1 ...\n"},
        {{"list_bindings", "-p", "v1"}, "Listing bindings for vhost v1...\n"},
        {{"list_consumers"}, "Listing consumers in vhost / ...\n"},
        {{"close_all_connections", "--limit", "1", "bye"},
         "Closing 1 connections in vhost /, reason: bye...\n"},
        {{"purge_queue", "-p", "v1", "q1"}, "Purging queue 'q1' in vhost 'v1' ...\n"},
        {{"delete_queue", "q2", "-e", "-u"},
         "Deleting queue 'q2' on vhost '/' if queue is empty and if queue is unused ...\n"},
        {{"export_definitions", "-"}, ""},
        {{"export_definitions", "/tmp/d.json"},
         "Exporting definitions in JSON to a file at \"/tmp/d.json\" ...\n"},
        {{"import_definitions"}, "Importing definitions in JSON from standard input ...\n"},
        {{"-q", "add_user", "alice", "pw"}, ""},
        {{"list_users", "--formatter", "json"}, ""},
    };
    for (const Case& c : cases) EXPECT_EQ(admin_banner(line_of(c.args)), c.banner) << c.args[0];
}

TEST(RenderAnswer, Listings) {
    Json users =
        Json::parse(R"({"ok": true, "rows": [{"user": "guest", "tags": ["administrator"]}]})");
    Rendered table = render_answer(line_of({"list_users"}), users, "lepus@h");
    EXPECT_EQ(table.out, "user\ttags\nguest\t[administrator]\n");
    EXPECT_EQ(table.exit_code, 0);
    Json empty = Json::parse(R"({"ok": true, "rows": []})");
    EXPECT_EQ(render_answer(line_of({"list_permissions", "-p", "v1"}), empty, "n").out, "\n");
    EXPECT_EQ(render_answer(line_of({"list_queues", "-p", "v1"}), empty, "n").out, "");
    EXPECT_EQ(render_answer(line_of({"list_queues", "--formatter", "json"}), empty, "n").out,
              "[\n]\n");
    EXPECT_EQ(
        render_answer(line_of({"list_topic_permissions", "--formatter", "json"}), empty, "n").out,
        "[]\n");
    Json topic = Json::parse(
        R"({"ok": true, "rows": [{"vhost": "v1", "exchange": "amq.topic", "write": "^a", "read": "^b"}]})");
    EXPECT_EQ(render_answer(line_of({"list_user_topic_permissions", "bob"}), topic, "n").out,
              "v1\tamq.topic\t^a\t^b\n");
}

TEST(RenderAnswer, Limits) {
    Json one = Json::parse(
        R"({"ok": true, "rows": [{"vhost": "v1", "limits": {"max-connections": 10}}]})");
    Json none = Json::parse(R"({"ok": true, "rows": []})");
    EXPECT_EQ(render_answer(line_of({"list_vhost_limits", "-p", "v1"}), one, "n").out,
              "{\"max-connections\":10}\n");
    EXPECT_EQ(render_answer(line_of({"list_vhost_limits"}), none, "n").out, "\n");
    EXPECT_EQ(render_answer(line_of({"list_user_limits", "--user", "alice"}), none, "n").out,
              "{}\n");
    EXPECT_EQ(render_answer(line_of({"list_vhost_limits", "--global"}), one, "n").out,
              "vhost\tlimits\nv1\t{\"max-connections\":10}\n");
    EXPECT_EQ(render_answer(line_of({"list_vhost_limits", "-p", "v1", "--formatter", "json"}), one,
                            "lepus@h")
                  .out,
              R"({"node":"lepus@h","result":"ok","value":"{\"max-connections\":10}"})"
              "\n");
}

TEST(RenderAnswer, Messages) {
    EXPECT_EQ(render_answer(line_of({"authenticate_user", "bob", "pw"}), {{"ok", true}}, "n").out,
              "Success\n");
    EXPECT_EQ(
        render_answer(line_of({"close_all_connections", "bye"}), {{"ok", true}, {"closed", 2}}, "n")
            .out,
        "Closed 2 connections\n");
    EXPECT_EQ(
        render_answer(line_of({"-q", "delete_queue", "q"}), {{"ok", true}, {"messages", 1}}, "n")
            .out,
        "Queue was successfully deleted with 1 ready messages\n");
    EXPECT_EQ(render_answer(line_of({"-q", "add_user", "a", "b"}), {{"ok", true}}, "n").out, "");
    EXPECT_EQ(
        render_answer(line_of({"purge_queue", "q"}), {{"ok", true}, {"messages", 3}}, "n").out, "");
    EXPECT_EQ(render_answer(line_of({"purge_queue", "q", "--formatter", "json"}),
                            {{"ok", true}, {"messages", 3}}, "lepus@h")
                  .out,
              "{\"node\":\"lepus@h\",\"result\":\"ok\"}\n");
    EXPECT_EQ(
        render_answer(line_of({"add_vhost", "v", "--formatter", "json"}), {{"ok", true}}, "lepus@h")
            .out,
        "{\"node\":\"lepus@h\",\"result\":\"ok\"}\n");
}

// Every reason of the protocol, per command, against what rabbitmqctl 3.10 does in that case.
TEST(RenderAnswer, FailuresTakeRabbitmqctlsExitCodes) {
    struct Case {
        std::vector<const char*> args;
        const char* reason;
        const char* error;
        int exit_code;
        const char* err;
    };
    std::vector<Case> cases = {
        {{"add_user", "alice", "pw"},
         "already_exists",
         "User \"alice\" already exists",
         70,
         "Error:\nUser \"alice\" already exists\n"},
        {{"delete_user", "nobody"},
         "no_such_user",
         "User \"nobody\" does not exist",
         67,
         "Error:\nUser \"nobody\" does not exist\n"},
        {{"change_password", "nobody", "x"}, "no_such_user", "e", 67, "Error:\ne\n"},
        {{"set_user_tags", "nobody"}, "no_such_user", "e", 67, "Error:\ne\n"},
        {{"authenticate_user", "bob", "wrong"},
         "refused",
         "user 'bob' - invalid credentials",
         65,
         "Error:\nError: failed to authenticate user \"bob\"\nuser 'bob' - invalid credentials\n"},
        {{"delete_vhost", "nov"},
         "no_such_vhost",
         "Virtual host 'nov' does not exist",
         65,
         "Virtual host 'nov' does not exist\n"},
        {{"set_permissions", "-p", "nov", "bob", ".*", "", ""},
         "no_such_vhost",
         "Virtual host nov does not exist",
         69,
         "Error:\nVirtual host nov does not exist\n"},
        {{"set_permissions", "bob", "(", "", ""}, "invalid_argument", "e", 69, "Error:\ne\n"},
        {{"set_permissions", "nobody", ".*", "", ""}, "no_such_user", "e", 67, "Error:\ne\n"},
        {{"list_permissions", "-p", "nov"}, "no_such_vhost", "e", 65, "e\n"},
        {{"list_user_permissions", "nobody"}, "no_such_user", "e", 69, "Error:\ne\n"},
        {{"list_topic_permissions", "-p", "nov"}, "no_such_vhost", "e", 65, "e\n"},
        {{"list_user_topic_permissions", "nobody"}, "no_such_user", "e", 69, "Error:\ne\n"},
        {{"clear_topic_permissions", "-p", "nov", "bob"}, "no_such_vhost", "e", 69, "Error:\ne\n"},
        {{"set_vhost_limits", "-p", "nov", "{}"}, "no_such_vhost", "e", 65, "e\n"},
        {{"set_vhost_limits", "notjson"}, "invalid_argument", "e", 69, "Error:\ne\n"},
        {{"clear_vhost_limits", "-p", "v1"},
         "not_found",
         "Parameter does not exist",
         69,
         "Error:\nParameter does not exist\n"},
        {{"list_vhost_limits", "-p", "nov"}, "no_such_vhost", "e", 65, "e\n"},
        {{"set_user_limits", "nobody", "{}"}, "no_such_user", "e", 69, "Error:\ne\n"},
        {{"clear_user_limits", "nobody", "all"}, "no_such_user", "e", 69, "Error:\ne\n"},
        {{"list_user_limits", "--user", "nobody"}, "no_such_user", "e", 69, "Error:\ne\n"},
        {{"purge_queue", "nosuch"}, "not_found", "not_found", 69, "Error:\nnot_found\n"},
        {{"delete_queue", "nosuch"},
         "not_found",
         "Queue not found",
         64,
         "Error:\nQueue not found\n"},
        {{"delete_queue", "q", "-e"},
         "failed",
         "Queue is not empty",
         64,
         "Error:\nQueue is not empty\n"},
        {{"delete_queue", "q", "-u"}, "invalid_argument", "e", 64, "Error:\ne\n"},
        {{"delete_queue", "-p", "nov", "q"}, "no_such_vhost", "e", 64, "Error:\ne\n"},
        {{"import_definitions", "f"}, "invalid_argument", "e", 65, "Error:\ne\n"},
        {{"list_users"}, "refused", "uid 1000 may not", 69, "Error:\nuid 1000 may not\n"},
        {{"list_users"}, "failed", "e", 70, "Error:\ne\n"},
    };
    for (const Case& c : cases) {
        Rendered rendered = render_answer(line_of(c.args), failure(c.reason, c.error), "n");
        EXPECT_EQ(rendered.exit_code, c.exit_code) << c.args[0] << " " << c.reason;
        EXPECT_EQ(rendered.err, c.err) << c.args[0] << " " << c.reason;
        EXPECT_EQ(rendered.out, "") << c.args[0];
    }
}

TEST(RenderAnswer, FailuresRabbitmqctlTreatsAsEmptySuccess) {
    Rendered queues =
        render_answer(line_of({"list_queues", "-p", "nov"}), failure("no_such_vhost", "e"), "n");
    EXPECT_EQ(queues.exit_code, 0);
    EXPECT_EQ(queues.out, "");
    Rendered closed = render_answer(line_of({"close_all_connections", "-p", "nov", "bye"}),
                                    failure("no_such_vhost", "e"), "n");
    EXPECT_EQ(closed.exit_code, 0);
    EXPECT_EQ(closed.out, "Closed 0 connections\n");
    Rendered gone =
        render_answer(line_of({"close_connection", "x", "bye"}), failure("not_found", "e"), "n");
    EXPECT_EQ(gone.exit_code, 0);
    EXPECT_EQ(gone.err, "");
}

TEST(RenderAnswer, JsonShapesOfMessages) {
    EXPECT_EQ(
        render_answer(line_of({"close_all_connections", "-p", "v1", "x", "--formatter", "json"}),
                      {{"ok", true}, {"closed", 0}}, "lepus@h")
            .out,
        R"({"node":"lepus@h","result":"ok","value":"Closed 0 connections"})"
        "\n");
    Rendered missing =
        render_answer(line_of({"delete_vhost", "nov", "--formatter", "json"}),
                      failure("no_such_vhost", "Virtual host 'nov' does not exist"), "lepus@h");
    EXPECT_EQ(missing.exit_code, 65);
    EXPECT_EQ(missing.err, "Virtual host 'nov' does not exist\n");
}

TEST(RenderAnswer, JsonFailures) {
    Rendered rendered =
        render_answer(line_of({"add_user", "x", "y", "--formatter", "json"}),
                      failure("already_exists", "User x already exists"), "lepus@h");
    EXPECT_EQ(rendered.exit_code, 70);
    EXPECT_EQ(rendered.err,
              R"({"message":"User x already exists","node":"lepus@h","result":"error"})"
              "\n");
}

}  // namespace
}  // namespace lepus::ctl
