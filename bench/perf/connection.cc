#include "bench/perf/connection.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/base/assert.h"
#include "core/wire/field_table.h"
#include "core/wire/wire_writer.h"
#include "net/tls/context.h"

namespace lepus::perf {

namespace {

constexpr u32 close_timeout_ms = 5000;

std::string client_properties(std::string_view name) {
    wire::FieldTable capabilities = {
        {"authentication_failure_close", wire::FieldValue::boolean(true)},
        {"basic.nack", wire::FieldValue::boolean(true)},
        {"publisher_confirms", wire::FieldValue::boolean(true)},
        {"consumer_cancel_notify", wire::FieldValue::boolean(true)},
        {"connection.blocked", wire::FieldValue::boolean(true)},
    };
    wire::FieldTable table = {
        {"product", wire::FieldValue::string("lepus-perf")},
        {"platform", wire::FieldValue::string("C++20")},
        {"information", wire::FieldValue::string("the Lepus load generator")},
        {"connection_name", wire::FieldValue::string(std::string(name))},
        {"capabilities", wire::FieldValue::table(std::move(capabilities))},
    };
    return wire::field_table_content(table);
}

}  // namespace

u64 now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<u64>(ts.tv_sec) * 1000000000u + static_cast<u64>(ts.tv_nsec);
}

void ReceiveBuffer::compact() {
    if (begin == 0) return;
    usize size = end - begin;
    if (size > 0) std::memmove(data.get(), data.get() + begin, size);
    begin = 0;
    end = size;
}

Connection::~Connection() {
    if (tls_ != nullptr) SSL_free(tls_);
    if (tls_context_ != nullptr) SSL_CTX_free(tls_context_);
    if (fd_ >= 0) ::close(fd_);
}

namespace {

std::string openssl_errors() { return tls::take_openssl_errors("unknown error"); }

}  // namespace

bool Connection::start_tls() {
    tls_context_ = SSL_CTX_new(TLS_client_method());
    if (tls_context_ == nullptr) return fail("cannot create a TLS context: " + openssl_errors());
    SSL_CTX_set_min_proto_version(tls_context_, TLS1_2_VERSION);
    // Writes of whole batches that the socket takes in part, retried from where they stopped.
    SSL_CTX_set_mode(tls_context_,
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(tls_context_, 1);
    if (!uri_.ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(tls_context_, uri_.ca_file.c_str(), nullptr) != 1) {
            return fail("cannot load --ca-file " + uri_.ca_file + ": " + openssl_errors());
        }
        SSL_CTX_set_verify(tls_context_, SSL_VERIFY_PEER, nullptr);
    }
    if (!uri_.cert_file.empty()) {
        std::string key = uri_.key_file.empty() ? uri_.cert_file : uri_.key_file;
        if (SSL_CTX_use_certificate_chain_file(tls_context_, uri_.cert_file.c_str()) != 1 ||
            SSL_CTX_use_PrivateKey_file(tls_context_, key.c_str(), SSL_FILETYPE_PEM) != 1) {
            return fail("cannot load --cert-file/--key-file: " + openssl_errors());
        }
    }
    tls_ = SSL_new(tls_context_);
    if (tls_ == nullptr || SSL_set_fd(tls_, fd_) != 1) {
        return fail("cannot set up TLS: " + openssl_errors());
    }
    SSL_set_tlsext_host_name(tls_, uri_.host.c_str());
    if (!uri_.ca_file.empty()) SSL_set1_host(tls_, uri_.host.c_str());
    if (SSL_connect(tls_) != 1) return fail("TLS handshake failed: " + openssl_errors());
    return true;
}

bool Connection::tls_has_buffered_input() const {
    return tls_ != nullptr && SSL_has_pending(tls_) == 1;
}

bool Connection::fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
}

bool Connection::connect_socket() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* addresses = nullptr;
    std::string port = std::to_string(uri_.port);
    int resolved = ::getaddrinfo(uri_.host.c_str(), port.c_str(), &hints, &addresses);
    if (resolved != 0) return fail("cannot resolve " + uri_.host + ": " + gai_strerror(resolved));
    std::string why = "no address";
    for (addrinfo* a = addresses; a != nullptr && fd_ < 0; a = a->ai_next) {
        int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            why = std::strerror(errno);
            ::close(fd);
            continue;
        }
        fd_ = fd;
    }
    ::freeaddrinfo(addresses);
    if (fd_ < 0) return fail("cannot connect to " + uri_.host + ":" + port + ": " + why);
    // Producers write whole batches and consumers write acks that the broker waits for:
    // neither gains from Nagle's delay.
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (send_buffer_ > 0) {
        int bytes = static_cast<int>(send_buffer_);
        if (::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)) != 0) {
            return fail(std::string("cannot set SO_SNDBUF: ") + std::strerror(errno));
        }
    }
    return true;
}

bool Connection::open(const Uri& uri, std::string_view name) {
    uri_ = uri;
    if (!connect_socket()) return false;
    if (uri_.tls && !start_tls()) return false;
    if (!handshake(name)) return false;
    open_ = true;
    amqp::ChannelOpenOk opened;
    return call(amqp::ChannelOpen{}, opened);
}

void Connection::adopt(int fd, u32 frame_max) {
    LEPUS_ASSERT(fd_ < 0 && fd >= 0);
    fd_ = fd;
    frame_max_ = frame_max;
    open_ = true;
}

bool Connection::handshake(std::string_view name) {
    if (!send_all(amqp::protocol_header)) return false;
    amqp::Method method;
    if (!read_method(method)) return false;
    const auto* start = std::get_if<amqp::ConnectionStart>(&method);
    if (start == nullptr) {
        return fail("the broker sent " + std::string(amqp::method_name(method)) +
                    " instead of connection.start");
    }
    if (std::string_view(start->mechanisms).find("PLAIN") == std::string_view::npos) {
        return fail("the broker does not offer PLAIN login");
    }
    std::string properties = client_properties(name);
    std::string response;
    response.push_back('\0');
    response += uri_.user;
    response.push_back('\0');
    response += uri_.password;
    amqp::ConnectionStartOk start_ok;
    start_ok.client_properties = properties;
    start_ok.mechanism = "PLAIN";
    start_ok.response = response;
    start_ok.locale = "en_US";
    if (!send_method(start_ok, 0)) return false;
    if (!read_method(method)) {
        return fail(error_ + " (during login: check the user and password in --uri)");
    }
    const auto* tune = std::get_if<amqp::ConnectionTune>(&method);
    if (tune == nullptr) {
        return fail("the broker sent " + std::string(amqp::method_name(method)) +
                    " instead of connection.tune");
    }
    frame_max_ = tune->frame_max == 0 ? perf_frame_max : std::min(tune->frame_max, perf_frame_max);
    if (frame_max_ < amqp::frame_min_size) return fail("the broker proposes frame_max below 4096");
    amqp::ConnectionTuneOk tune_ok;
    tune_ok.channel_max = perf_channel;
    tune_ok.frame_max = frame_max_;
    // No heartbeats: a load test keeps every connection busy. A broker that sends them anyway
    // gets each one echoed by the data path.
    tune_ok.heartbeat = 0;
    if (!send_method(tune_ok, 0)) return false;
    amqp::ConnectionOpen open;
    open.virtual_host = uri_.vhost;
    if (!send_method(open, 0)) return false;
    if (!read_method(method)) return false;
    if (!std::holds_alternative<amqp::ConnectionOpenOk>(method)) {
        return fail("the broker sent " + std::string(amqp::method_name(method)) +
                    " instead of connection.open-ok");
    }
    // From here on the socket never blocks: the blocking helpers wait in poll with a limit.
    int one = 1;
    return ::ioctl(fd_, FIONBIO, &one) == 0 || fail("cannot make the socket non-blocking");
}

bool Connection::send_all(std::string_view bytes) {
    while (!bytes.empty()) {
        i64 sent = send_some(bytes.data(), bytes.size());
        if (sent < 0) return false;
        if (sent == 0) {
            pollfd entry{fd_, POLLOUT, 0};
            if (::poll(&entry, 1, static_cast<int>(blocking_timeout_ms)) == 0) {
                return fail("the broker did not read for 10 s");
            }
            continue;
        }
        bytes.remove_prefix(static_cast<usize>(sent));
    }
    return true;
}

i64 Connection::send_some(const char* data, usize size) {
    if (tls_ != nullptr) {
        if (size == 0) return 0;
        int written = SSL_write(tls_, data, static_cast<int>(std::min<usize>(size, 1u << 30)));
        if (written > 0) return written;
        int error = SSL_get_error(tls_, written);
        if (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) return 0;
        fail("TLS send failed: " + openssl_errors());
        return -1;
    }
    for (;;) {
        ssize_t sent = ::send(fd_, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent >= 0) return sent;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        fail(std::string("send failed: ") + std::strerror(errno));
        return -1;
    }
}

ReadResult Connection::receive() {
    if (input_.end == receive_buffer_size) input_.compact();
    if (input_.end == receive_buffer_size) {
        fail("a frame larger than the receive buffer");
        return ReadResult::error;
    }
    if (tls_ != nullptr) {
        int got = SSL_read(tls_, input_.data.get() + input_.end,
                           static_cast<int>(receive_buffer_size - input_.end));
        if (got > 0) {
            input_.end += static_cast<usize>(got);
            return ReadResult::data;
        }
        int error = SSL_get_error(tls_, got);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
            return ReadResult::would_block;
        }
        if (error == SSL_ERROR_ZERO_RETURN) {
            fail("the broker closed the connection");
            return ReadResult::closed;
        }
        fail("TLS receive failed: " + openssl_errors());
        return ReadResult::error;
    }
    for (;;) {
        ssize_t got = ::recv(fd_, input_.data.get() + input_.end, receive_buffer_size - input_.end,
                             MSG_DONTWAIT);
        if (got > 0) {
            input_.end += static_cast<usize>(got);
            return ReadResult::data;
        }
        if (got == 0) {
            fail("the broker closed the connection");
            return ReadResult::closed;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return ReadResult::would_block;
        fail(std::string("recv failed: ") + std::strerror(errno));
        return ReadResult::error;
    }
}

bool Connection::send_method(const amqp::Method& method, u16 channel) {
    std::string bytes;
    wire::WireWriter writer(bytes);
    amqp::write_method_frame(writer, channel, method);
    return send_all(bytes);
}

amqp::FrameStatus Connection::next_frame(amqp::Frame& frame) {
    usize frame_size = 0;
    amqp::FrameStatus status = amqp::parse_frame(input_.pending(), frame_max_, frame, frame_size);
    if (status == amqp::FrameStatus::complete) {
        input_.begin += frame_size;  // the payload stays valid until the next receive
    } else if (status != amqp::FrameStatus::incomplete) {
        fail("the broker sent bytes that are not a valid AMQP frame");
    }
    return status;
}

bool Connection::read_frame(amqp::Frame& out, u32 timeout_ms) {
    u64 deadline = now_ns() + u64{timeout_ms} * 1000000;
    for (;;) {
        amqp::FrameStatus status = next_frame(out);
        if (status == amqp::FrameStatus::complete) return true;
        if (status != amqp::FrameStatus::incomplete) return false;
        input_.compact();
        u64 now = now_ns();
        if (now >= deadline) return fail("no answer from the broker within the time limit");
        if (!tls_has_buffered_input()) {
            pollfd entry{fd_, POLLIN, 0};
            ::poll(&entry, 1, static_cast<int>((deadline - now) / 1000000 + 1));
        }
        ReadResult result = receive();
        if (result == ReadResult::closed || result == ReadResult::error) return false;
    }
}

bool Connection::read_method(amqp::Method& out) {
    for (;;) {
        amqp::Frame frame;
        if (!read_frame(frame, blocking_timeout_ms)) return false;
        if (frame.type == amqp::frame_heartbeat) continue;
        if (frame.type != amqp::frame_method) {
            return fail("the broker sent a content frame where lepus-perf expected a method");
        }
        u16 class_id = 0;
        u16 method_id = 0;
        if (amqp::decode_method(frame.payload, out, class_id, method_id) !=
            amqp::DecodeStatus::ok) {
            return fail("the broker sent a malformed method (" +
                        std::string(amqp::method_name(class_id, method_id)) + ")");
        }
        if (std::holds_alternative<amqp::ConnectionClose>(out) ||
            std::holds_alternative<amqp::ChannelClose>(out)) {
            return fail_with_close(out, frame.channel);
        }
        return true;
    }
}

bool Connection::fail_with_close(const amqp::Method& method, u16 channel) {
    if (const auto* close = std::get_if<amqp::ConnectionClose>(&method)) {
        fail("the broker closed the connection: " +
             amqp::reply_text(close->reply_code, close->reply_text));
        std::string bytes;
        wire::WireWriter writer(bytes);
        amqp::write_method_frame(writer, 0, amqp::ConnectionCloseOk{});
        send_some(bytes.data(), bytes.size());
        open_ = false;
    } else if (const auto* channel_close = std::get_if<amqp::ChannelClose>(&method)) {
        fail("the broker closed channel " + std::to_string(channel) + ": " +
             amqp::reply_text(channel_close->reply_code, channel_close->reply_text));
        std::string bytes;
        wire::WireWriter writer(bytes);
        amqp::write_method_frame(writer, channel, amqp::ChannelCloseOk{});
        send_some(bytes.data(), bytes.size());
    }
    return false;
}

void Connection::close() {
    if (fd_ < 0) return;
    if (open_) {
        open_ = false;
        amqp::ConnectionClose close;
        close.reply_code = amqp::wire_code(amqp::ReplyCode::reply_success);
        close.reply_text = "lepus-perf is done";
        std::string saved_error = error_;
        if (send_method(close, 0)) {
            // After connection.close only close-ok (or a crossing close) matters; deliveries
            // and acks still on their way are read and dropped.
            amqp::Frame frame;
            while (read_frame(frame, close_timeout_ms)) {
                if (frame.type != amqp::frame_method || frame.payload.size() < 4) continue;
                auto id = (u32{static_cast<u8>(frame.payload[0])} << 24) |
                          (u32{static_cast<u8>(frame.payload[1])} << 16) |
                          (u32{static_cast<u8>(frame.payload[2])} << 8) |
                          static_cast<u8>(frame.payload[3]);
                if (id == amqp::ConnectionCloseOk::id) break;
                if (id == amqp::ConnectionClose::id) {
                    std::string bytes;
                    wire::WireWriter writer(bytes);
                    amqp::write_method_frame(writer, 0, amqp::ConnectionCloseOk{});
                    send_some(bytes.data(), bytes.size());
                    break;
                }
            }
        }
        error_ = saved_error;
    }
    ::close(fd_);
    fd_ = -1;
}

}  // namespace lepus::perf
