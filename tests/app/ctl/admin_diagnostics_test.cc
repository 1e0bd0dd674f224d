#include "app/ctl/admin_diagnostics.h"

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

const std::string node = "lepus@host";

Json status_with(Json alarms) {
    return {{"ok", true},
            {"alarms", std::move(alarms)},
            {"listeners",
             Json::array({{{"protocol", "amqp"}, {"interface", "127.0.0.1"}, {"port", 5672}},
                          {{"protocol", "http"}, {"interface", "0.0.0.0"}, {"port", 15672}}})}};
}

Rendered render(
    std::vector<const char*> args, const Json& answer,
    const PortProbe& probe = [](const std::string&, u16) { return true; }) {
    return render_diagnostic(line_of(std::move(args)), answer, node, probe);
}

TEST(Diagnostics, EveryCommandIsOne) {
    for (const char* name : {"ping", "check_running", "check_local_alarms", "alarms", "listeners",
                             "check_port_connectivity", "environment"}) {
        EXPECT_TRUE(is_diagnostic(line_of({name}).spec->command)) << name;
    }
    EXPECT_FALSE(is_diagnostic(line_of({"status"}).spec->command));
    EXPECT_EQ(diagnostic_request(line_of({"check_running"})).dump(), R"({"command":"ping"})");
    EXPECT_EQ(diagnostic_request(line_of({"alarms"})).dump(), R"({"command":"status"})");
}

TEST(Diagnostics, BannersAreRabbitmqDiagnostics) {
    EXPECT_EQ(diagnostic_banner(line_of({"ping", "-t", "5"}), node),
              "Will ping lepus@host. This only checks if the OS process is running and "
              "registered with epmd. Timeout: 5000 ms.\n");
    EXPECT_EQ(diagnostic_banner(line_of({"-q", "alarms"}), node), "");
    EXPECT_EQ(diagnostic_banner(line_of({"listeners", "--formatter", "json"}), node), "");
}

// A local alarm fails the check with 69, text on stderr or the JSON object on stdout.
TEST(Diagnostics, LocalAlarmsFailTheCheck) {
    Rendered quiet = render({"check_local_alarms"}, status_with(Json::array()));
    EXPECT_EQ(quiet.out, "Node lepus@host reported no local alarms\n");
    EXPECT_EQ(quiet.exit_code, 0);
    Rendered alarmed = render({"check_local_alarms"}, status_with({"memory", "disk"}));
    EXPECT_EQ(alarmed.exit_code, 69);
    EXPECT_EQ(alarmed.out, "");
    EXPECT_EQ(alarmed.err,
              "Error:\nMemory alarm on node lepus@host\nFree disk space alarm on node "
              "lepus@host\n");
    Rendered json = render({"check_local_alarms", "--formatter", "json"}, status_with({"memory"}));
    EXPECT_EQ(json.exit_code, 69);
    EXPECT_EQ(json.out, R"({"local":["Memory alarm on node lepus@host"],)"
                        R"("message":"Node lepus@host reported local alarms","result":"error"})"
                        "\n");
}

TEST(Diagnostics, AlarmsReportsWithoutFailing) {
    Rendered alarmed = render({"alarms"}, status_with({"disk"}));
    EXPECT_EQ(alarmed.exit_code, 0);
    EXPECT_EQ(alarmed.out, "Free disk space alarm on node lepus@host\n");
    EXPECT_EQ(render({"alarms", "--formatter", "json"}, status_with(Json::array())).out,
              R"({"alarms":[],"node":"lepus@host","result":"ok"})"
              "\n");
}

TEST(Diagnostics, ListenersAndTheirPorts) {
    EXPECT_EQ(render({"listeners"}, status_with(Json::array())).out,
              "Interface: 127.0.0.1, port: 5672, protocol: amqp, purpose: AMQP 0-9-1\n"
              "Interface: 0.0.0.0, port: 15672, protocol: http, purpose: HTTP API\n");
    std::vector<std::string> probed;
    Rendered ok = render({"check_port_connectivity"}, status_with(Json::array()),
                         [&](const std::string& host, u16 port) {
                             probed.push_back(host + ":" + std::to_string(port));
                             return true;
                         });
    EXPECT_EQ(ok.out, "Successfully connected to ports 5672, 15672 on node lepus@host.\n");
    EXPECT_EQ(probed, (std::vector<std::string>{"127.0.0.1:5672", "127.0.0.1:15672"}))
        << "a wildcard address is probed through loopback";
    Rendered refused = render({"check_port_connectivity"}, status_with(Json::array()),
                              [](const std::string&, u16 port) { return port != 15672; });
    EXPECT_EQ(refused.exit_code, 69);
    EXPECT_EQ(refused.err,
              "Error:\nConnection to ports of the following listeners on node lepus@host "
              "failed: \nInterface: 0.0.0.0, port: 15672, protocol: http, purpose: HTTP API\n");
}

TEST(Diagnostics, EnvironmentAsErlangTerms) {
    Json answer{{"ok", true},
                {"environment",
                 {{"lepus", {{"shards", 2}}},
                  {"rabbit",
                   {{"default_user", "guest"},
                    {"load_definitions", nullptr},
                    {"tcp_listeners", Json::array({Json::array({"127.0.0.1", 5672})})}}}}}};
    EXPECT_EQ(render({"environment"}, answer).out,
              "[{lepus,\n     [{shards,2}]},\n {rabbit,\n     [{default_user,<<\"guest\">>},\n"
              "      {load_definitions,undefined},\n"
              "      {tcp_listeners,[[<<\"127.0.0.1\">>,5672]]}]}]\n");
    EXPECT_EQ(render({"environment", "--formatter", "json"}, answer).out,
              answer["environment"].dump() + "\n");
}

}  // namespace
}  // namespace lepus::ctl
