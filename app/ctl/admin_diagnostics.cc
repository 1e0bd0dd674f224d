#include "app/ctl/admin_diagnostics.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "app/ctl/admin_status.h"

namespace lepus::ctl {

namespace {

using C = AdminCommand;

// How long check_port_connectivity waits for each listener, as rabbitmq-diagnostics does.
constexpr int port_probe_timeout_ms = 5000;

Rendered message(const AdminLine& line, const std::string& text) {
    if (line.formatter == Formatter::json) return {Json{{"message", text}}.dump() + "\n", "", 0};
    return {text + "\n", "", 0};
}

std::vector<std::string> alarm_lines(const Json& answer, const std::string& node) {
    std::vector<std::string> lines;
    for (const Json& alarm : answer.value("alarms", Json::array())) {
        lines.push_back(alarm_line(alarm.is_string() ? alarm.get<std::string>() : "", node));
    }
    return lines;
}

Rendered check_local_alarms(const AdminLine& line, const Json& answer, const std::string& node) {
    std::vector<std::string> alarms = alarm_lines(answer, node);
    if (alarms.empty()) {
        if (line.formatter == Formatter::json) return {"{\"result\":\"ok\"}\n", "", 0};
        return {"Node " + node + " reported no local alarms\n", "", 0};
    }
    if (line.formatter == Formatter::json) {
        Json object{{"local", alarms},
                    {"message", "Node " + node + " reported local alarms"},
                    {"result", "error"}};
        return {object.dump() + "\n", "", exit_unavailable};
    }
    std::string text = "Error:\n";
    for (const std::string& alarm : alarms) text += alarm + "\n";
    return {"", text, exit_unavailable};
}

Rendered alarms(const AdminLine& line, const Json& answer, const std::string& node) {
    std::vector<std::string> alarms = alarm_lines(answer, node);
    if (line.formatter == Formatter::json) {
        // Lepus is a single node: every alarm is local, none is clusterwide.
        Json object = alarms.empty()
                          ? Json{{"alarms", Json::array()}, {"node", node}, {"result", "ok"}}
                          : Json{{"global", Json::array()},
                                 {"local", alarms},
                                 {"message", "Node " + node + " reported alarms"},
                                 {"result", "ok"}};
        return {object.dump() + "\n", "", 0};
    }
    if (alarms.empty())
        return {"Node " + node + " reported no alarms, local or clusterwide\n", "", 0};
    std::string text;
    for (const std::string& alarm : alarms) text += alarm + "\n";
    return {text, "", 0};
}

Json listeners_json(const Json& listeners, const std::string& node) {
    Json rows = Json::array();
    for (const Json& listener : listeners) rows.push_back(listener_json(listener, node));
    return rows;
}

Rendered listeners(const AdminLine& line, const Json& answer, const std::string& node) {
    Json all = answer.value("listeners", Json::array());
    if (line.formatter == Formatter::json) {
        Json object{{"listeners", listeners_json(all, node)}, {"node", node}, {"result", "ok"}};
        return {object.dump() + "\n", "", 0};
    }
    std::string text;
    for (const Json& listener : all) text += listener_line(listener) + "\n";
    return {text, "", 0};
}

// A wildcard address is reached through loopback, as a local client would.
std::string reachable_host(const std::string& interface) {
    if (interface == "0.0.0.0") return "127.0.0.1";
    if (interface == "::") return "::1";
    return interface;
}

Rendered check_port_connectivity(const AdminLine& line, const Json& answer, const std::string& node,
                                 const PortProbe& probe) {
    Json all = answer.value("listeners", Json::array());
    Json failed = Json::array();
    std::string ports;
    for (const Json& listener : all) {
        u16 port = listener.value("port", u16{0});
        ports += (ports.empty() ? "" : ", ") + std::to_string(port);
        if (!probe(reachable_host(listener.value("interface", std::string())), port)) {
            failed.push_back(listener);
        }
    }
    if (failed.empty()) {
        if (line.formatter == Formatter::json) {
            Json object{{"listeners", listeners_json(all, node)}, {"node", node}, {"result", "ok"}};
            return {object.dump() + "\n", "", 0};
        }
        return {"Successfully connected to ports " + ports + " on node " + node + ".\n", "", 0};
    }
    if (line.formatter == Formatter::json) {
        Json object{
            {"listeners", listeners_json(failed, node)}, {"node", node}, {"result", "error"}};
        return {object.dump() + "\n", "", exit_unavailable};
    }
    std::string text =
        "Error:\nConnection to ports of the following listeners on node " + node + " failed: \n";
    for (const Json& listener : failed) text += listener_line(listener) + "\n";
    return {"", text, exit_unavailable};
}

// Erlang's way of writing a term, which `rabbitmqctl environment` prints: objects as property
// lists, strings as binaries.
std::string erlang_atom(const std::string& name) {
    bool plain =
        !name.empty() && name[0] >= 'a' && name[0] <= 'z' &&
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
    return plain ? name : "'" + name + "'";
}

std::string erlang_term(const Json& value) {
    if (value.is_object()) {
        std::string text = "[";
        for (auto it = value.begin(); it != value.end(); ++it) {
            if (it != value.begin()) text += ",";
            text += "{" + erlang_atom(it.key()) + "," + erlang_term(it.value()) + "}";
        }
        return text + "]";
    }
    if (value.is_array()) {
        std::string text = "[";
        for (usize i = 0; i < value.size(); ++i) text += (i > 0 ? "," : "") + erlang_term(value[i]);
        return text + "]";
    }
    if (value.is_string()) return "<<" + value.dump() + ">>";
    if (value.is_null()) return "undefined";
    return value.dump();
}

Rendered environment(const AdminLine& line, const Json& answer) {
    Json applications = answer.value("environment", Json::object());
    if (line.formatter == Formatter::json) return {applications.dump() + "\n", "", 0};
    // One application per entry, one setting per line, as Erlang's pretty printer lays it out.
    std::string text = "[";
    bool first_application = true;
    for (auto application = applications.begin(); application != applications.end();
         ++application) {
        text += first_application ? "{" : ",\n {";
        first_application = false;
        text += erlang_atom(application.key()) + ",\n     [";
        bool first_setting = true;
        for (auto setting = application->begin(); setting != application->end(); ++setting) {
            text += first_setting ? "" : ",\n      ";
            first_setting = false;
            text += "{" + erlang_atom(setting.key()) + "," + erlang_term(setting.value()) + "}";
        }
        text += "]}";
    }
    return {text + "]\n", "", 0};
}

}  // namespace

bool is_diagnostic(AdminCommand command) {
    switch (command) {
        case C::ping:
        case C::check_running:
        case C::check_local_alarms:
        case C::alarms:
        case C::listeners:
        case C::check_port_connectivity:
        case C::environment: return true;
        default: return false;
    }
}

Json diagnostic_request(const AdminLine& line) {
    bool ping = line.spec->command == C::ping || line.spec->command == C::check_running;
    return {{"command", ping ? "ping" : "status"}};
}

std::string diagnostic_banner(const AdminLine& line, const std::string& node) {
    if (line.quiet || line.formatter == Formatter::json) return "";
    switch (line.spec->command) {
        case C::ping:
            return "Will ping " + node +
                   ". This only checks if the OS process is running and registered with epmd. "
                   "Timeout: " +
                   std::to_string(u64{line.timeout_s} * 1000) + " ms.\n";
        case C::check_running: return "Checking if RabbitMQ is running on node " + node + " ...\n";
        case C::check_local_alarms:
            return "Asking node " + node + " to report any local resource alarms ...\n";
        case C::alarms: return "Asking node " + node + " to report any known resource alarms ...\n";
        case C::listeners: return "Asking node " + node + " to report its protocol listeners ...\n";
        case C::check_port_connectivity:
            return "Testing TCP connections to all active listeners on node " + node + " ...\n";
        case C::environment: return "Application environment of node " + node + " ...\n";
        default: return "";
    }
}

bool tcp_port_accepts(const std::string& host, u16 port) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
        return false;
    }
    bool accepted = false;
    int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd >= 0) {
        int rc = ::connect(fd, found->ai_addr, found->ai_addrlen);
        if (rc == 0) {
            accepted = true;
        } else if (errno == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            int error = 0;
            socklen_t length = sizeof error;
            accepted = ::poll(&p, 1, port_probe_timeout_ms) == 1 &&
                       ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
        }
        ::close(fd);
    }
    ::freeaddrinfo(found);
    return accepted;
}

Rendered render_diagnostic(const AdminLine& line, const Json& answer, const std::string& node,
                           const PortProbe& probe) {
    switch (line.spec->command) {
        case C::ping: return message(line, "Ping succeeded");
        case C::check_running:
            return message(line, "RabbitMQ on node " + node + " is fully booted and running");
        case C::check_local_alarms: return check_local_alarms(line, answer, node);
        case C::alarms: return alarms(line, answer, node);
        case C::listeners: return listeners(line, answer, node);
        case C::check_port_connectivity: return check_port_connectivity(line, answer, node, probe);
        case C::environment: return environment(line, answer);
        default: return {};
    }
}

}  // namespace lepus::ctl
