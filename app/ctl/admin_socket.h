#pragma once
// The client side of lepusd's administration socket (net/admin/README.md): one request per
// connection, written whole, the writing side shut down, then the answer read to its end.
// Blocking calls against a deadline: lepusctl does one exchange and exits, and a broker that
// stops answering must not hang an operator's script.
#include <chrono>
#include <string>
#include <string_view>

#include "app/ctl/table_format.h"
#include "core/base/types.h"

namespace lepus::ctl {

// The socket's name inside the data directory, and what fits in sockaddr_un::sun_path.
inline constexpr std::string_view admin_socket_name = "lepusctl.sock";
inline constexpr usize admin_socket_path_max = 107;
// lepusd reads requests of at most 64 MiB (net/admin/README.md): larger ones are not sent.
inline constexpr usize admin_request_size_max = 64u * 1024 * 1024;
// An answer is at most the definitions of a large broker; past this it is not lepusd talking.
inline constexpr usize admin_answer_size_max = 512u * 1024 * 1024;

using Clock = std::chrono::steady_clock;

enum class AdminFailure : u8 {
    none,
    unreachable,  // no socket, connection refused, a path too long: the node is not running
    timeout,      // connected, but no whole answer before the deadline
    broken,       // the connection failed midway, or the answer is not one JSON object
};

struct AdminReply {
    AdminFailure failure = AdminFailure::none;
    std::string detail;  // what went wrong, for the diagnostics
    Json answer;         // the whole answer when failure is none
};

// Owns one connected Unix socket, closed by the destructor.
class AdminSocket {
public:
    AdminSocket() = default;
    ~AdminSocket();
    AdminSocket(const AdminSocket&) = delete;
    AdminSocket& operator=(const AdminSocket&) = delete;

    // Connects to `path` before `deadline`. On failure, `detail` holds the system's reason.
    AdminFailure connect(const std::string& path, Clock::time_point deadline, std::string& detail);

    // Sends the request, shuts down the writing side and reads the answer to its end.
    AdminReply exchange(const Json& request, Clock::time_point deadline);

private:
    int fd_ = -1;
};

// DATA_DIR/lepusctl.sock.
std::string admin_socket_path(const std::string& data_dir);

}  // namespace lepus::ctl
