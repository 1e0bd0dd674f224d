#include "net/server/boot_definitions.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/base/log.h"
#include "core/base/types.h"
#include "core/definitions_json.h"

namespace lepus::server {

namespace {

// A boot import holds every listener: far longer than any import takes, short enough that a
// broker that cannot import does not hang its service manager.
constexpr int import_timeout_ms = 120'000;
// RabbitMQ's definitions files are small; a larger one is a mistake, not a catalog.
constexpr usize definitions_file_max_bytes = 64u << 20;

// Unix socket I/O with one deadline for the whole exchange.
class SocketExchange {
public:
    explicit SocketExchange(int fd)
        : fd_(fd),
          deadline_(std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(import_timeout_ms)) {}

    bool wait(short events) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline_ - std::chrono::steady_clock::now())
                        .count();
        if (left <= 0) return false;
        pollfd p{fd_, events, 0};
        return ::poll(&p, 1, static_cast<int>(left)) > 0;
    }

    std::string send_all(const std::string& text) {
        usize sent = 0;
        while (sent < text.size()) {
            if (!wait(POLLOUT)) return "timed out sending the definitions";
            ssize_t n = ::send(fd_, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
            if (n < 0 && errno != EINTR) return std::strerror(errno);
            if (n > 0) sent += static_cast<usize>(n);
        }
        ::shutdown(fd_, SHUT_WR);
        return {};
    }

    std::string receive_all(std::string& out) {
        char buffer[4096];
        for (;;) {
            if (!wait(POLLIN)) return "timed out waiting for the import to finish";
            ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n == 0) return {};
            if (n < 0 && errno != EINTR) return std::strerror(errno);
            if (n > 0) out.append(buffer, static_cast<usize>(n));
        }
    }

private:
    int fd_;
    std::chrono::steady_clock::time_point deadline_;
};

}  // namespace

std::string read_boot_definitions(const std::string& path, nlohmann::json& out) {
    std::string prefix = "load_definitions: " + path + ": ";
    std::ifstream file(path, std::ios::binary);
    if (!file) return prefix + std::strerror(errno);
    std::ostringstream contents;
    contents << file.rdbuf();
    std::string text = contents.str();
    if (text.size() > definitions_file_max_bytes) {
        return prefix + "larger than " + std::to_string(definitions_file_max_bytes) + " bytes";
    }
    out = nlohmann::json::parse(text, nullptr, false);
    if (out.is_discarded() || !out.is_object()) return prefix + "not a JSON object";
    core::ImportResult checked = core::import_definitions(out);
    if (!checked.error.empty()) return prefix + checked.error;
    return {};
}

std::string import_boot_definitions(const std::string& socket_path,
                                    const nlohmann::json& definitions) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::string("socket: ") + std::strerror(errno);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
    SocketExchange exchange(fd);
    std::string error;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        error = "connect to " + socket_path + ": " + std::strerror(errno);
    }
    nlohmann::json request = {{"command", "import_definitions"}, {"definitions", definitions}};
    if (error.empty()) error = exchange.send_all(request.dump());
    std::string reply_text;
    if (error.empty()) error = exchange.receive_all(reply_text);
    ::close(fd);
    if (!error.empty()) return error;
    nlohmann::json reply = nlohmann::json::parse(reply_text, nullptr, false);
    if (reply.is_discarded() || !reply.is_object()) return "the broker's answer is not JSON";
    if (!reply.value("ok", false)) return reply.value("error", std::string("import failed"));
    return {};
}

}  // namespace lepus::server
