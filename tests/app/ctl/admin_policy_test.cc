// lepusctl's policy commands: rabbitmqctl 3.10's options, requests, banners, listings and
// failures (each checked against rabbitmqctl 3.10.8's own output).
#include <gtest/gtest.h>

#include <vector>

#include "app/ctl/admin_commands.h"
#include "app/ctl/admin_output.h"

namespace lepus::ctl {
namespace {

AdminParse parse(std::vector<const char*> args, AdminLine& line, std::string& error) {
    args.insert(args.begin(), "lepusctl");
    return parse_admin_command_line(static_cast<int>(args.size()), args.data(), nullptr, line,
                                    error);
}

AdminLine line_of(std::vector<const char*> args) {
    AdminLine line;
    std::string error;
    EXPECT_EQ(parse(std::move(args), line, error), AdminParse::run) << error;
    return line;
}

TEST(AdminPolicy, OptionsAndRequest) {
    AdminLine line = line_of({"set_policy", "-p", "v", "--priority", "-3", "--apply-to", "queues",
                              "p", "^q", R"({"max-length":1})"});
    EXPECT_EQ(line.priority, -3);
    EXPECT_EQ(admin_request(line).dump(),
              R"({"command":"set_policy","vhost":"v","name":"p","pattern":"^q",)"
              R"("definition":"{\"max-length\":1}","priority":-3,"apply_to":"queues"})");
    EXPECT_EQ(admin_request(line_of({"clear_operator_policy", "op"})).dump(),
              R"({"command":"clear_operator_policy","vhost":"/","name":"op"})");
    AdminLine refused;
    std::string error;
    EXPECT_EQ(parse({"set_policy", "--priority", "1.5", "p", "x", "{}"}, refused, error),
              AdminParse::usage_error);
    EXPECT_EQ(error, "Invalid options for this command:\n--priority : 1.5");
    EXPECT_EQ(parse({"clear_policy", "--priority", "1", "p"}, refused, error),
              AdminParse::usage_error)
        << "only the set commands take --priority";
    EXPECT_EQ(parse({"set_policy", "p", "x"}, refused, error), AdminParse::usage_error);
    EXPECT_EQ(error, "not enough arguments.");
}

TEST(AdminPolicy, Banners) {
    EXPECT_EQ(admin_banner(line_of({"set_policy", "--priority", "3", "p2", "^qq", "{}"})),
              "Setting policy \"p2\" for pattern \"^qq\" to \"{}\" with priority \"3\" for vhost "
              "\"/\" ...\n");
    EXPECT_EQ(admin_banner(line_of({"set_operator_policy", "-p", "v", "o", "^q", "{}"})),
              "Setting operator policy override \"o\" for pattern \"^q\" to \"{}\" with priority "
              "\"0\" for vhost \"v\" ...\n");
    EXPECT_EQ(admin_banner(line_of({"clear_policy", "p"})),
              "Clearing policy \"p\" on vhost \"/\" ...\n");
    EXPECT_EQ(admin_banner(line_of({"clear_operator_policy", "p"})),
              "Clearing operator policy \"p\" on vhost \"/\" ...\n");
    EXPECT_EQ(admin_banner(line_of({"list_policies"})), "Listing policies for vhost \"/\" ...\n");
    EXPECT_EQ(admin_banner(line_of({"list_operator_policies", "-p", "v"})),
              "Listing operator policy overrides for vhost \"v\" ...\n");
}

TEST(AdminPolicy, ListingsShowTheDefinitionAsText) {
    Json answer = Json::parse(R"({"ok": true, "rows": [{"vhost": "/", "name": "p1",
        "pattern": "^q", "apply-to": "all", "definition": {"max-length": 5}, "priority": 0}]})");
    EXPECT_EQ(render_answer(line_of({"list_policies"}), answer, "n").out,
              "vhost\tname\tpattern\tapply-to\tdefinition\tpriority\n"
              "/\tp1\t^q\tall\t{\"max-length\":5}\t0\n");
    EXPECT_EQ(render_answer(line_of({"list_policies", "--formatter", "json"}), answer, "n").out,
              "[\n{\"vhost\":\"/\",\"name\":\"p1\",\"pattern\":\"^q\",\"apply-to\":\"all\","
              "\"definition\":\"{\\\"max-length\\\":5}\",\"priority\":0}\n]\n");
    Json empty = Json::parse(R"({"ok": true, "rows": []})");
    EXPECT_EQ(render_answer(line_of({"list_operator_policies"}), empty, "n").out, "\n");
}

TEST(AdminPolicy, FailuresAsRabbitmqctl) {
    Json invalid = {{"ok", false},
                    {"reason", "invalid_argument"},
                    {"error", "Validation failed\n\n-1 is not a valid maximum length\n"}};
    for (const char* formatter : {"table", "json"}) {
        Rendered refused = render_answer(
            line_of({"set_policy", "--formatter", formatter, "p", "x", "{}"}), invalid, "n");
        EXPECT_EQ(refused.exit_code, 69);
        EXPECT_EQ(refused.err, "Error:\nValidation failed\n\n-1 is not a valid maximum length\n\n")
            << formatter;
    }
    Json missing = {{"ok", false}, {"reason", "not_found"}, {"error", "Parameter does not exist"}};
    Rendered cleared = render_answer(line_of({"clear_policy", "p"}), missing, "n");
    EXPECT_EQ(cleared.exit_code, 69);
    EXPECT_EQ(cleared.err, "Error:\nParameter does not exist\n");
    Json no_vhost = {
        {"ok", false}, {"reason", "no_such_vhost"}, {"error", "Virtual host 'nov' does not exist"}};
    Rendered listed = render_answer(line_of({"list_policies", "-p", "nov"}), no_vhost, "n");
    EXPECT_EQ(listed.exit_code, 65);
    EXPECT_EQ(listed.err, "Virtual host 'nov' does not exist\n");
}

}  // namespace
}  // namespace lepus::ctl
