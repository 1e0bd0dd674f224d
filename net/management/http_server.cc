#include "net/management/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cstring>
#include <optional>
#include <sstream>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "net/admin/rows.h"

namespace lepus::management {

namespace http = boost::beast::http;

namespace {

// Reads take this much at a time.
constexpr usize read_step = 16 * 1024;

std::string peer_text(int fd) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return "?";
    const std::string host = admin::address_host(address);
    const std::string port = std::to_string(admin::address_port(address));
    return address.ss_family == AF_INET6 ? "[" + host + "]:" + port : host + ":" + port;
}

}  // namespace

const std::string& HttpRequest::header(std::string_view name) const {
    static const std::string none;
    for (const auto& [key, value] : headers) {
        if (key == name) return value;
    }
    return none;
}

struct HttpServer::Connection {
    enum class Phase : u8 {
        reading,   // a request arrives
        handling,  // the handler has it
        writing,   // the answer goes out
        closed     // the socket is shut; the entry goes once no I/O is in flight
    };
    HttpServer* server = nullptr;
    u32 id = 0;
    u64 generation = 0;
    int fd = -1;
    Phase phase = Phase::reading;
    u64 active_ms = 0;
    bool keep_alive = false;
    std::string peer;
    io::Completion recv;
    io::Completion send;
    std::string in;  // [in_begin, in_end) received and not yet parsed
    usize in_begin = 0;
    usize in_end = 0;
    bool peer_closed = false;
    std::optional<http::request_parser<http::string_body>> parser;
    std::string out;
    usize out_sent = 0;
};

HttpServer::HttpServer(int fd, io::Ring& ring, std::string name, HttpHandler handler)
    : fd_(fd), ring_(ring), name_(std::move(name)), handler_(std::move(handler)) {
    accept_completion_.callback = &HttpServer::on_accept;
    accept_completion_.owner = this;
}

HttpServer::~HttpServer() {
    for (auto& [id, connection] : connections_) {
        if (connection->fd >= 0) ::close(connection->fd);
    }
    if (fd_ >= 0) ::close(fd_);
}

void HttpServer::start() { arm_accept(); }

void HttpServer::arm_accept() {
    io_uring_sqe* sqe = ring_.prepare(accept_completion_);
    io_uring_prep_multishot_accept(sqe, fd_, nullptr, nullptr, SOCK_CLOEXEC);
}

void HttpServer::stop() {
    if (stopping_) return;
    stopping_ = true;
    if (accept_completion_.in_flight) {
        io_uring_sqe* sqe = ring_.prepare_untracked();
        io_uring_prep_cancel(sqe, &accept_completion_, 0);
    }
    std::vector<Connection*> all;
    for (auto& [id, connection] : connections_) all.push_back(connection.get());
    for (Connection* connection : all) close(*connection);
}

bool HttpServer::busy() const { return accept_completion_.in_flight || !connections_.empty(); }

void HttpServer::tick(u64 now_ms) {
    now_ms_ = now_ms;
    std::vector<Connection*> idle;
    for (auto& [id, connection] : connections_) {
        if (connection->phase == Connection::Phase::reading &&
            now_ms - connection->active_ms > idle_ms_max) {
            idle.push_back(connection.get());
        }
    }
    for (Connection* connection : idle) close(*connection);
}

void HttpServer::on_accept(io::Completion& completion, i32 result, u32 flags) {
    auto& self = *static_cast<HttpServer*>(completion.owner);
    if (result >= 0) {
        if (self.stopping_) {
            ::close(result);
        } else {
            self.accept(result);
        }
    } else if (result != -ECANCELED && !self.stopping_) {
        LEPUS_LOG(warning, "%s: accept failed: %s", self.name_.c_str(), std::strerror(-result));
    }
    if (!(flags & IORING_CQE_F_MORE) && !self.stopping_ && !completion.in_flight) {
        self.arm_accept();
    }
}

void HttpServer::accept(int fd) {
    if (connections_.size() >= connections_max) {
        LEPUS_LOG(warning, "%s: refused a connection from %s: %zu already open", name_.c_str(),
                  peer_text(fd).c_str(), connections_max);
        ::close(fd);
        return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto connection = std::make_unique<Connection>();
    connection->server = this;
    do {
        connection->id = next_id_++;
    } while (connection->id == 0 || connections_.count(connection->id) > 0);
    connection->generation = next_generation_++;
    connection->fd = fd;
    connection->active_ms = now_ms_;
    connection->peer = peer_text(fd);
    connection->recv.callback = &HttpServer::on_recv;
    connection->recv.owner = connection.get();
    connection->send.callback = &HttpServer::on_send;
    connection->send.owner = connection.get();
    Connection& added = *connection;
    connections_.emplace(added.id, std::move(connection));
    arm_recv(added);
}

void HttpServer::arm_recv(Connection& connection) {
    // Keep what is unparsed at the front, then make room for one more read.
    if (connection.in_begin > 0) {
        connection.in.erase(0, connection.in_begin);
        connection.in_end -= connection.in_begin;
        connection.in_begin = 0;
    }
    if (connection.in.size() < connection.in_end + read_step) {
        connection.in.resize(connection.in_end + read_step);
    }
    io_uring_sqe* sqe = ring_.prepare(connection.recv);
    io_uring_prep_recv(sqe, connection.fd, connection.in.data() + connection.in_end,
                       connection.in.size() - connection.in_end, 0);
}

void HttpServer::on_recv(io::Completion& completion, i32 result, u32) {
    auto& connection = *static_cast<Connection*>(completion.owner);
    HttpServer& self = *connection.server;
    if (connection.phase == Connection::Phase::closed || result < 0) {
        self.close(connection);
        return;
    }
    connection.active_ms = self.now_ms_;
    if (result == 0) {
        connection.peer_closed = true;
    } else {
        connection.in_end += static_cast<usize>(result);
    }
    self.parse(connection);
}

void HttpServer::parse(Connection& connection) {
    LEPUS_ASSERT(connection.phase == Connection::Phase::reading);
    if (!connection.parser) {
        connection.parser.emplace();
        connection.parser->header_limit(static_cast<std::uint32_t>(header_bytes_max));
        connection.parser->body_limit(body_bytes_max);
        connection.parser->eager(true);
    }
    auto& parser = *connection.parser;
    while (connection.in_begin < connection.in_end && !parser.is_done()) {
        boost::beast::error_code error;
        usize used =
            parser.put(boost::asio::const_buffer(connection.in.data() + connection.in_begin,
                                                 connection.in_end - connection.in_begin),
                       error);
        connection.in_begin += used;
        if (error == http::error::need_more) break;
        if (error) {
            LEPUS_LOG(info, "%s: closing %s after a malformed request: %s", name_.c_str(),
                      connection.peer.c_str(), error.message().c_str());
            const bool too_large = error == http::error::body_limit ||
                                   error == http::error::header_limit ||
                                   error == http::error::buffer_overflow;
            HttpResponse response;
            response.status = too_large ? 413 : 400;
            response.body = too_large
                                ? R"({"error":"bad_request","reason":"request too large"})"
                                : R"({"error":"bad_request","reason":"malformed HTTP request"})";
            connection.keep_alive = false;
            connection.phase = Connection::Phase::handling;
            answer(connection.id, connection.generation, std::move(response));
            return;
        }
        if (used == 0) break;
    }
    if (!parser.is_done()) {
        if (connection.peer_closed) {
            close(connection);
        } else {
            arm_recv(connection);
        }
        return;
    }
    http::request<http::string_body> message = parser.release();
    connection.parser.reset();
    connection.keep_alive = message.keep_alive() && !connection.peer_closed;
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
        std::string name(field.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        request.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    request.body = std::move(message.body());
    request.peer = connection.peer;
    connection.phase = Connection::Phase::handling;
    u32 id = connection.id;
    u64 generation = connection.generation;
    handler_(request, [this, id, generation](HttpResponse response) {
        answer(id, generation, std::move(response));
    });
}

void HttpServer::answer(u32 id, u64 generation, HttpResponse response) {
    auto it = connections_.find(id);
    if (it == connections_.end() || it->second->generation != generation) return;
    Connection& connection = *it->second;
    if (connection.phase != Connection::Phase::handling) return;
    http::response<http::string_body> message{static_cast<http::status>(response.status), 11};
    message.set(http::field::server, "Lepus");
    if (!response.body.empty() || response.status >= 400) {
        message.set(http::field::content_type, response.content_type);
    }
    for (const auto& [name, value] : response.headers) message.set(name, value);
    message.keep_alive(connection.keep_alive);
    message.body() = std::move(response.body);
    message.prepare_payload();
    std::ostringstream text;
    text << message;
    connection.out = std::move(text).str();
    connection.out_sent = 0;
    connection.phase = Connection::Phase::writing;
    send_rest(connection);
}

void HttpServer::send_rest(Connection& connection) {
    io_uring_sqe* sqe = ring_.prepare(connection.send);
    io_uring_prep_send(sqe, connection.fd, connection.out.data() + connection.out_sent,
                       connection.out.size() - connection.out_sent, MSG_NOSIGNAL);
}

void HttpServer::on_send(io::Completion& completion, i32 result, u32) {
    auto& connection = *static_cast<Connection*>(completion.owner);
    HttpServer& self = *connection.server;
    if (connection.phase != Connection::Phase::writing || result <= 0) {
        self.close(connection);
        return;
    }
    connection.out_sent += static_cast<usize>(result);
    if (connection.out_sent < connection.out.size()) {
        self.send_rest(connection);
        return;
    }
    connection.out.clear();
    connection.out.shrink_to_fit();
    if (!connection.keep_alive) {
        self.close(connection);
        return;
    }
    connection.phase = Connection::Phase::reading;
    connection.active_ms = self.now_ms_;
    // A pipelined request may be waiting already.
    self.parse(connection);
}

void HttpServer::close(Connection& connection) {
    if (connection.phase != Connection::Phase::closed) {
        connection.phase = Connection::Phase::closed;
        ::shutdown(connection.fd, SHUT_RDWR);
    }
    erase_if_idle(connection);
}

void HttpServer::erase_if_idle(Connection& connection) {
    if (connection.phase != Connection::Phase::closed || connection.recv.in_flight ||
        connection.send.in_flight) {
        return;
    }
    ::close(connection.fd);
    connection.fd = -1;
    connections_.erase(connection.id);
}

}  // namespace lepus::management
