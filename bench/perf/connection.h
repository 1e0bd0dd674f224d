#pragma once
// One AMQP 0-9-1 client connection with channel 1 open, as lepus-perf's producers, consumers
// and set-up use it. Opening and closing are blocking (poll with a time limit) and run on the
// main thread before and after the measurement; in between, the socket is non-blocking and the
// producer or consumer that owns the Connection drives it from its thread with epoll, reading
// frames straight out of `input` without copying.
//
// Owns the socket and the receive buffer. Lives on the main thread, lent to one worker thread
// for the measurement.
#include <memory>
#include <string>
#include <string_view>

#include "bench/perf/options.h"
#include "core/base/types.h"
#include "net/amqp/frame.h"
#include "net/amqp/methods.h"

struct ssl_st;
struct ssl_ctx_st;

namespace lepus::perf {

inline constexpr u16 perf_channel = 1;
// The largest frame we accept and propose; RabbitMQ's default.
inline constexpr u32 perf_frame_max = 131072;
// Receive buffer: several maximal frames, so one recv brings many small deliveries.
inline constexpr usize receive_buffer_size = 1u << 20;
inline constexpr u32 blocking_timeout_ms = 10000;

// Bytes received and not yet parsed: [begin, end) of data.
struct ReceiveBuffer {
    std::unique_ptr<char[]> data{new char[receive_buffer_size]};
    usize begin = 0;
    usize end = 0;

    std::string_view pending() const { return {data.get() + begin, end - begin}; }
    // Moves a partial frame to the front so the next recv has the most room.
    void compact();
};

enum class ReadResult : u8 { data, would_block, closed, error };

class Connection {
public:
    Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    // Connects, logs in with PLAIN, opens the vhost and channel 1. `name` becomes the
    // connection_name client property, which brokers show in their management tools.
    bool open(const Uri& uri, std::string_view name);
    // SO_SNDBUF for the socket open() connects; 0 (the default) leaves the kernel's autotuning.
    void set_send_buffer(u32 bytes) { send_buffer_ = bytes; }
    // Takes a connected socket whose peer has already been through the handshake and opened
    // channel 1 (tests play the broker on the other end of a socketpair).
    void adopt(int fd, u32 frame_max);

    // Blocking request/reply on channel 1. A channel.close or connection.close from the broker
    // turns into an error naming its reply code and text.
    bool send_method(const amqp::Method& method, u16 channel = perf_channel);
    bool read_method(amqp::Method& out);
    template <typename Reply>
    bool call(const amqp::Method& request, Reply& reply) {
        if (!send_method(request)) return false;
        amqp::Method method;
        if (!read_method(method)) return false;
        if (const Reply* got = std::get_if<Reply>(&method)) {
            reply = *got;
            return true;
        }
        return fail("the broker sent " + std::string(amqp::method_name(method)) +
                    " where lepus-perf expected " + std::string(Reply::name));
    }

    // Sends connection.close and waits (bounded) for close-ok, discarding whatever frames are
    // still on their way. Idempotent.
    void close();

    // Data path: one non-blocking recv into `input`, and non-blocking sends. Over TLS, one
    // SSL_read (would_block only once the socket and OpenSSL's buffer are both empty) and
    // SSL_write.
    ReadResult receive();
    // The next whole frame already received. complete: `frame` is it, its payload valid until
    // the next receive; incomplete: wait for more; otherwise the bytes are not AMQP and the
    // connection has failed.
    amqp::FrameStatus next_frame(amqp::Frame& frame);
    // Bytes sent (possibly fewer than asked), 0 if the socket is full, -1 on error.
    i64 send_some(const char* data, usize size);

    // Turns a connection.close or channel.close received on the data path into the error and
    // answers it. Returns false: the connection is finished.
    bool fail_with_close(const amqp::Method& method, u16 channel);
    bool fail(std::string message);

    int fd() const { return fd_; }
    u32 frame_max() const { return frame_max_; }
    const std::string& error() const { return error_; }
    ReceiveBuffer& input() { return input_; }
    const Uri& uri() const { return uri_; }

private:
    bool connect_socket();
    // TLS over the connected socket (still blocking): the handshake, verified when the URI
    // names a CA.
    bool start_tls();
    // Decrypted bytes OpenSSL holds that no poll on the socket would announce.
    bool tls_has_buffered_input() const;
    bool handshake(std::string_view name);
    bool send_all(std::string_view bytes);
    bool read_frame(amqp::Frame& out, u32 timeout_ms);

    int fd_ = -1;
    ssl_ctx_st* tls_context_ = nullptr;  // TLS only; owned
    ssl_st* tls_ = nullptr;              // TLS only; owned
    u32 send_buffer_ = 0;
    bool open_ = false;
    Uri uri_;
    u32 frame_max_ = amqp::frame_min_size;
    std::string error_;
    ReceiveBuffer input_;
    usize consumed_ = 0;  // bytes of the frame read_frame returned last
};

// CLOCK_MONOTONIC in nanoseconds: one clock for every thread of the tool (and, on one machine,
// for every process).
u64 now_ns();

}  // namespace lepus::perf
