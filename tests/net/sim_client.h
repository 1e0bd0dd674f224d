#pragma once
// A test client on the client end of a ProtocolSim connection (a socket, or the session itself
// with Transport::direct): writes AMQP frames built with
// the broker's own codec and reads back what the broker sent, frame by frame.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "net/amqp/frame.h"
#include "net/amqp/methods.h"
#include "tests/net/protocol_sim.h"

namespace lepus::server::sim {

struct Received {
    u16 channel = 0;
    u8 type = 0;
    u32 method = 0;  // class << 16 | method, for method frames
    u64 delivery_tag = 0;
    // Of a channel.close or connection.close; empty for other frames, or a code the spec lacks.
    std::optional<amqp::ReplyCode> reply_code;
    // Of a close too: its text and the method it blames.
    std::string reply_text;
    u16 close_class_id = 0;
    u16 close_method_id = 0;
};

class SimClient {
public:
    SimClient(ProtocolSim& sim, u32 shard)
        : sim_(sim), end_(sim.shard(shard).accept()), fd_(end_.fd), direct_(end_.direct) {}
    ~SimClient() {
        if (fd_ >= 0) ::close(fd_);
    }
    SimClient(const SimClient&) = delete;
    SimClient& operator=(const SimClient&) = delete;

    template <typename M>
    static std::string method(u16 channel, const M& m) {
        std::string bytes;
        wire::WireWriter writer(bytes);
        amqp::write_method_frame(writer, channel, m);
        return bytes;
    }

    // basic.publish with its header and one body frame.
    static std::string publish(u16 channel, std::string_view exchange, std::string_view key,
                               std::string_view body) {
        amqp::BasicPublish p;
        p.exchange = exchange;
        p.routing_key = key;
        std::string bytes = method(channel, p);
        wire::WireWriter writer(bytes);
        amqp::ContentHeader header;
        header.body_size = body.size();
        amqp::write_content_header_frame(writer, channel, header);
        amqp::write_frame_header(writer, amqp::frame_body, channel, static_cast<u32>(body.size()));
        writer.write_bytes(body);
        amqp::write_frame_end(writer);
        return bytes;
    }

    void send(std::string_view bytes) {
        if (direct_ != nullptr) {
            direct_->receive(bytes);
            return;
        }
        while (!bytes.empty()) {
            ssize_t n = ::write(fd_, bytes.data(), bytes.size());
            ASSERT_GT(n, 0) << "write to the broker failed: " << std::strerror(errno);
            bytes.remove_prefix(static_cast<usize>(n));
        }
    }

    // As much of `bytes` as the socket takes now; -1 when it takes none.
    ssize_t write_some(std::string_view bytes) {
        if (direct_ != nullptr) {
            direct_->receive(bytes);
            return static_cast<ssize_t>(bytes.size());
        }
        return ::write(fd_, bytes.data(), bytes.size());
    }

    // Logs in as guest, opens the connection and channel 1.
    void handshake(u16 heartbeat_s = 0) {
        std::string bytes(amqp::protocol_header);
        amqp::ConnectionStartOk start_ok;
        start_ok.mechanism = "PLAIN";
        start_ok.response = std::string_view("\0guest\0guest", 12);
        start_ok.locale = "en_US";
        bytes += method(0, start_ok);
        amqp::ConnectionTuneOk tune_ok;
        tune_ok.channel_max = 2047;
        tune_ok.frame_max = 131072;
        tune_ok.heartbeat = heartbeat_s;
        bytes += method(0, tune_ok);
        amqp::ConnectionOpen open;
        open.virtual_host = "/";
        bytes += method(0, open);
        bytes += method(1, amqp::ChannelOpen{});
        send(bytes);
        sim_.pump();
        std::vector<Received> got = read();
        ASSERT_TRUE(saw(got, amqp::ConnectionOpenOk::id));
        ASSERT_TRUE(saw(got, amqp::ChannelOpenOk::id));
    }

    // Every whole frame that has arrived since the last read.
    std::vector<Received> read() {
        char chunk[65536];
        if (direct_ != nullptr) buffer_ += direct_->take_sent();
        for (; fd_ >= 0;) {
            ssize_t n = ::read(fd_, chunk, sizeof chunk);
            if (n <= 0) break;
            buffer_.append(chunk, static_cast<usize>(n));
        }
        std::vector<Received> out;
        usize position = 0;
        for (;;) {
            amqp::Frame frame;
            usize size = 0;
            std::string_view rest(buffer_.data() + position, buffer_.size() - position);
            if (amqp::parse_frame(rest, 0, frame, size) != amqp::FrameStatus::complete) break;
            position += size;
            Received r{frame.channel, frame.type, 0, 0, std::nullopt, {}, 0, 0};
            if (frame.type == amqp::frame_method) {
                amqp::Method m;
                u16 c = 0;
                u16 id = 0;
                EXPECT_EQ(amqp::decode_method(frame.payload, m, c, id), amqp::DecodeStatus::ok);
                r.method = (u32{c} << 16) | id;
                if (auto* d = std::get_if<amqp::BasicDeliver>(&m)) r.delivery_tag = d->delivery_tag;
                if (auto* g = std::get_if<amqp::BasicGetOk>(&m)) r.delivery_tag = g->delivery_tag;
                if (auto* cc = std::get_if<amqp::ChannelClose>(&m)) {
                    r.reply_code = amqp::reply_code_from_wire(cc->reply_code);
                    r.reply_text = cc->reply_text;
                    r.close_class_id = cc->failing_class_id;
                    r.close_method_id = cc->failing_method_id;
                }
                if (auto* k = std::get_if<amqp::ConnectionClose>(&m)) {
                    r.reply_code = amqp::reply_code_from_wire(k->reply_code);
                    r.reply_text = k->reply_text;
                    r.close_class_id = k->failing_class_id;
                    r.close_method_id = k->failing_method_id;
                }
            }
            out.push_back(r);
        }
        buffer_.erase(0, position);
        return out;
    }

    static bool saw(const std::vector<Received>& got, u32 method) { return count(got, method) > 0; }
    static usize count(const std::vector<Received>& got, u32 method) {
        usize n = 0;
        for (const Received& r : got) n += r.method == method;
        return n;
    }

    // The socket goes away as if the client's host vanished.
    void drop() {
        if (direct_ != nullptr) {
            direct_->drop();
            return;
        }
        ::close(fd_);
        fd_ = -1;
    }

private:
    ProtocolSim& sim_;
    Endpoint end_;
    int fd_;
    DirectSession* direct_;
    std::string buffer_;
};

}  // namespace lepus::server::sim
