#include "app/ctl/admin_run.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

#include "app/ctl/admin_diagnostics.h"
#include "app/ctl/admin_output.h"
#include "app/ctl/admin_socket.h"
#include "app/ctl/admin_status.h"

namespace lepus::ctl {

namespace {

// How often await_startup asks again while lepusd is not serving yet.
constexpr auto await_startup_retry = std::chrono::milliseconds(100);
inline constexpr int exit_cannot_create = 73;  // EX_CANTCREAT: the export file

void print(FILE* stream, const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stream);
    std::fflush(stream);
}

std::string replace_node(std::string text, const std::string& node) {
    usize at = text.find("{node}");
    if (at != std::string::npos) text.replace(at, 6, node);
    return text;
}

// rabbitmqctl's "unable to perform an operation on node" report, naming the socket.
std::string unreachable_text(const std::string& node, const std::string& path,
                             const std::string& detail) {
    return "Error: unable to perform an operation on node '" + node +
           "'. Please see diagnostics information and suggestions below.\n\n"
           "Most common reasons for this are:\n\n"
           " * Target node is not running\n"
           " * The data directory is not the node's (see --data-dir and LEPUS_DATA_DIR)\n"
           " * lepusctl runs as a user other than the data directory's owner or root\n\n"
           "DIAGNOSTICS\n===========\n\n"
           "attempted to contact: " +
           path + "\n\n" + path + ":\n  * connect: " + detail +
           "\n  * suggestion: start the node\n";
}

std::string timeout_text(const AdminLine& line, const std::string& node) {
    return "Error: operation " + std::string(line.spec->name) + " on node " + node +
           " timed out. Timeout value used: " + std::to_string(u64{line.timeout_s} * 1000) + "\n";
}

// A failed exchange: the timeout is rabbitmqctl's EX_TEMPFAIL; anything else is the broker
// failing the request.
int report_failure(const AdminLine& line, const AdminReply& reply, const std::string& node) {
    if (reply.failure == AdminFailure::timeout) {
        print(stderr, timeout_text(line, node));
        return exit_temporary_fail;
    }
    print(stderr, "Error:\n" + reply.detail + "\n");
    return exit_software;
}

int await_startup(const AdminLine& line, const std::string& path, const std::string& node) {
    auto deadline = Clock::now() + std::chrono::seconds(line.timeout_s);
    std::string detail = "no attempt";
    while (true) {
        AdminSocket socket;
        AdminFailure failure = socket.connect(path, deadline, detail);
        if (failure == AdminFailure::none) {
            AdminReply reply = socket.exchange(admin_request(line), deadline);
            if (reply.failure == AdminFailure::none && reply.answer.value("ok", false)) return 0;
            if (reply.failure == AdminFailure::timeout) return report_failure(line, reply, node);
            detail = reply.failure == AdminFailure::none ? reply.answer.value("error", "")
                                                         : reply.detail;
        }
        if (Clock::now() + await_startup_retry >= deadline) break;
        std::this_thread::sleep_for(await_startup_retry);
    }
    print(stderr, unreachable_text(node, path, detail));
    return exit_unavailable;
}

// import_definitions reads its file (or stdin) before it connects, as rabbitmqctl does.
bool read_definitions(const AdminLine& line, std::string& text, int argc, const char* const* argv,
                      int& exit_code) {
    bool from_stdin = line.positionals.empty() || line.positionals[0] == "-";
    if (from_stdin) {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
        return true;
    }
    std::ifstream file(line.positionals[0], std::ios::binary);
    if (!file) {
        print(stderr,
              admin_usage_error_text(
                  line.spec, "Bad argument: File " + line.positionals[0] + " does not exist", argc,
                  argv));
        exit_code = exit_data_error;
        return false;
    }
    std::ostringstream contents;
    contents << file.rdbuf();
    text = contents.str();
    return true;
}

int export_definitions(const AdminLine& line, const Json& answer) {
    // Sorted keys, as rabbitmqctl writes them.
    std::string text =
        nlohmann::json::parse(answer.value("definitions", Json::object()).dump()).dump();
    const std::string& target = line.positionals[0];
    if (target == "-") {
        print(stdout, text);
        return 0;
    }
    std::FILE* file = std::fopen(target.c_str(), "wb");
    bool written = file != nullptr && std::fwrite(text.data(), 1, text.size(), file) == text.size();
    int error = errno;
    if (file != nullptr && std::fclose(file) != 0) written = false;
    if (!written) {
        print(stderr, "Error:\n" + target + ": " + std::strerror(error) + "\n");
        return exit_cannot_create;
    }
    return 0;
}

// rabbitmq-diagnostics prints what it is about to do before it reaches the node, and a node
// that does not answer a ping "failed to connect and authenticate".
int run_diagnostic(const AdminLine& line, const std::string& path, std::string node) {
    print(stdout, diagnostic_banner(line, node));
    auto deadline = Clock::now() + std::chrono::seconds(line.timeout_s);
    AdminSocket socket;
    AdminReply reply;
    reply.failure = socket.connect(path, deadline, reply.detail);
    if (reply.failure == AdminFailure::none)
        reply = socket.exchange(diagnostic_request(line), deadline);
    if (reply.failure == AdminFailure::timeout) return report_failure(line, reply, node);
    if (reply.failure != AdminFailure::none) {
        if (line.spec->command == AdminCommand::ping) {
            print(stderr, "Error:\nFailed to connect and authenticate to " + node + " in " +
                              std::to_string(u64{line.timeout_s} * 1000) + " ms\n");
        } else {
            print(stderr, unreachable_text(node, path, reply.detail));
        }
        return exit_unavailable;
    }
    const Json& answer = reply.answer;
    if (!answer.value("ok", false)) {
        print(stderr, "Error:\n" + answer.value("error", std::string("failed")) + "\n");
        return exit_software;
    }
    Rendered rendered = render_diagnostic(line, answer, node, tcp_port_accepts);
    print(stdout, rendered.out);
    print(stderr, rendered.err);
    return rendered.exit_code;
}

}  // namespace

std::string local_node_name() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) return "lepus@localhost";
    std::string name = host;
    return "lepus@" + name.substr(0, name.find('.'));
}

int run_admin_command(const AdminLine& line, int argc, const char* const* argv) {
    std::string node = local_node_name();
    std::string path = admin_socket_path(line.data_dir);
    if (line.spec->command == AdminCommand::await_startup) return await_startup(line, path, node);
    if (is_diagnostic(line.spec->command)) return run_diagnostic(line, path, node);

    Json request = admin_request(line);
    std::string definitions_text;
    if (line.spec->command == AdminCommand::import_definitions) {
        int exit_code = 0;
        if (!read_definitions(line, definitions_text, argc, argv, exit_code)) return exit_code;
    }
    auto deadline = Clock::now() + std::chrono::seconds(line.timeout_s);
    AdminSocket socket;
    std::string detail;
    AdminFailure failure = socket.connect(path, deadline, detail);
    if (failure == AdminFailure::timeout) {
        print(stderr, timeout_text(line, node));
        return exit_temporary_fail;
    }
    if (failure != AdminFailure::none) {
        print(stderr, unreachable_text(node, path, detail));
        return exit_unavailable;
    }
    if (line.spec->command != AdminCommand::status) {
        print(stdout, replace_node(admin_banner(line), node));
    }
    if (line.spec->command == AdminCommand::import_definitions) {
        Json definitions = Json::parse(definitions_text, nullptr, false);
        if (definitions.is_discarded() || !definitions.is_object()) {
            print(stderr,
                  "Error:\nFailed to deserialise input (format: JSON) (error: not a JSON "
                  "object)\n");
            return exit_data_error;
        }
        request["definitions"] = std::move(definitions);
    }
    AdminReply reply = socket.exchange(request, deadline);
    if (reply.failure != AdminFailure::none) return report_failure(line, reply, node);
    const Json& answer = reply.answer;
    bool ok = answer.value("ok", false);
    if (ok && line.spec->command == AdminCommand::status) {
        node = answer.value("node", node);
        if (line.formatter == Formatter::table && !line.quiet) {
            print(stdout, "Status of node " + node + " ...\n");
        }
        print(stdout, format_status(answer, line.formatter));
        return 0;
    }
    if (ok && line.spec->command == AdminCommand::export_definitions) {
        return export_definitions(line, answer);
    }
    Rendered rendered = render_answer(line, answer, node);
    print(stdout, rendered.out);
    print(stderr, rendered.err);
    return rendered.exit_code;
}

}  // namespace lepus::ctl
