#pragma once
// An HTTP/1.1 server on one shard's io_uring loop, for the management API and the Prometheus
// endpoint: every accept, read and write is a ring operation, requests are parsed by
// Boost.Beast's parser (a maintained, strict HTTP/1.1 parser that needs no socket of its own),
// and the handler answers now or later (after a round of messages to the other shards).
// Keep-alive and pipelining: one request at a time per connection, the next parsed once the
// answer to the previous one is written.
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/base/types.h"
#include "net/io/ring.h"

namespace lepus::management {

struct HttpRequest {
    std::string method;  // "GET", "PUT", ...
    std::string target;  // path and query as sent: "/api/queues/%2F/q?columns=name"
    std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
    std::string body;
    std::string peer;  // "127.0.0.1:51234"

    // The value of a header (name in lower case), empty when absent.
    const std::string& header(std::string_view name) const;
};

struct HttpResponse {
    u16 status = 200;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;  // more, e.g. WWW-Authenticate
    std::string body;
};

// Answers the request it was given; does nothing once its connection has gone.
using HttpReply = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(HttpRequest&, HttpReply)>;

class HttpServer {
public:
    // `fd`: a listening TCP socket, owned from now on. `name` names the server in log lines.
    HttpServer(int fd, io::Ring& ring, std::string name, HttpHandler handler);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    void start();
    // Stops accepting and closes every connection; busy() until their I/O has drained.
    void stop();
    bool busy() const;
    // Closes connections idle past the limit.
    void tick(u64 now_ms);

    static constexpr usize header_bytes_max = 64 * 1024;
    // Definitions imports are the largest bodies operators send.
    static constexpr usize body_bytes_max = 64u << 20;
    static constexpr usize connections_max = 1024;
    static constexpr u64 idle_ms_max = 60'000;

private:
    struct Connection;
    static void on_accept(io::Completion& completion, i32 result, u32 flags);
    static void on_recv(io::Completion& completion, i32 result, u32 flags);
    static void on_send(io::Completion& completion, i32 result, u32 flags);
    void arm_accept();
    void accept(int fd);
    void arm_recv(Connection& connection);
    // Parses what has arrived; hands a complete request to the handler.
    void parse(Connection& connection);
    void answer(u32 id, u64 generation, HttpResponse response);
    void send_rest(Connection& connection);
    void close(Connection& connection);
    void erase_if_idle(Connection& connection);

    int fd_;
    io::Ring& ring_;
    std::string name_;
    HttpHandler handler_;
    io::Completion accept_completion_;
    bool stopping_ = false;
    u32 next_id_ = 1;
    u64 next_generation_ = 1;
    u64 now_ms_ = 0;
    std::unordered_map<u32, std::unique_ptr<Connection>> connections_;
};

}  // namespace lepus::management
