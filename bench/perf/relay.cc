// lepus-relay: the "perfect broker" floor for lepus-perf. NOT A BROKER. It accepts AMQP 0-9-1
// connections, answers the handshake and the declarations a load test makes, and rewrites
// every basic.publish (with its header and body frames) straight into a basic.deliver to a
// consumer of the routed queue. There are no queues of messages, no acks, no persistence, no
// flow control beyond TCP: a message with no consumer is dropped, publisher confirms are acked
// at once. What lepus-perf measures against it is the cost of the client, the kernel and
// loopback TCP: the ceiling any real broker on this machine can approach.
//
// One thread, edge-triggered epoll. A publish is handled only once its method, header and body
// frames are all in the receive buffer, so deliveries from different publishers never
// interleave inside one consumer's stream. Every connection's output is gathered in a buffer
// and sent once per loop turn.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/base/types.h"
#include "core/wire/field_table.h"
#include "core/wire/wire_reader.h"
#include "core/wire/wire_writer.h"
#include "net/amqp/frame.h"
#include "net/amqp/methods.h"

namespace lepus::relay {
namespace {

constexpr std::string_view help_text =
    R"(lepus-relay: the throughput and latency floor for lepus-perf. It is NOT a broker.

It speaks just enough AMQP 0-9-1 for a load test: PLAIN login with any credentials,
channel.open, exchange/queue declare, bind, purge and delete, basic.qos, basic.consume,
confirm.select. Every basic.publish is rewritten at once into a basic.deliver to one consumer
(round-robin) of each queue it routes to: the queue named by the routing key on the default
exchange; the bound queues of a declared exchange (fanout: all of them; other types: bindings
whose key equals the routing key, or "#"). No messages are stored: without a consumer a
message is dropped. Confirms are acked immediately; consumer acks are ignored.

  --port N        loopback port to listen on (default 5673)
  --cpu LIST      pin the relay's one thread to the first CPU of LIST, e.g. "0"
  --help          this text
)";

constexpr u32 frame_max = 131072;
constexpr u16 channel_max = 2047;
constexpr usize receive_buffer_initial = 1u << 20;
constexpr usize receive_buffer_max = 80u << 20;  // one whole message must fit
// While any connection has this much unsent output, nobody is read: a slow consumer holds
// publishers back through TCP instead of growing our memory.
constexpr usize output_high_water = 8u << 20;

struct Connection;

struct ConsumerRef {
    Connection* connection;
    u16 channel;
    std::string tag;
};

struct Queue {
    std::vector<ConsumerRef> consumers;
    usize next = 0;
};

struct Exchange {
    std::string type;
    std::vector<std::pair<std::string, std::string>> bindings;  // key, queue
};

struct Channel {
    bool open = false;
    bool confirm = false;
    u64 published = 0;  // confirm mode: delivery tags handed out
    u64 acked = 0;
    u64 delivered = 0;  // delivery tags of this channel's consumers
};

struct Connection {
    int fd = -1;
    bool header_received = false;
    bool closing = false;  // close after the output drains
    bool readable = false;
    std::vector<char> input = std::vector<char>(receive_buffer_initial);
    usize input_begin = 0;
    usize input_end = 0;
    std::string output;
    usize output_sent = 0;
    std::vector<Channel> channels = std::vector<Channel>(channel_max + 1);
    std::vector<u16> confirm_channels;  // channels with publishes to ack this turn
};

class Relay {
public:
    bool listen(u16 port);
    void run();

private:
    void accept_all();
    void read(Connection& c);
    void parse(Connection& c);
    bool handle_method(Connection& c, u16 channel, const amqp::Method& method);
    // Returns false when the unit (method, header, bodies) is not complete yet.
    bool handle_publish(Connection& c, u16 channel, std::string_view method_payload,
                        usize& position);
    void deliver(const ConsumerRef& consumer, const amqp::BasicPublish& publish,
                 std::string_view header, const std::vector<std::string_view>& bodies);
    void send_method(Connection& c, u16 channel, const amqp::Method& method);
    void close_connection_with(Connection& c, amqp::ReplyCode code, std::string_view text);
    void flush(Connection& c);
    void drop(Connection& c);
    void remove_consumers(Connection& c, int channel);  // -1: every channel

    int listener_ = -1;
    int epoll_ = -1;
    std::vector<std::unique_ptr<Connection>> connections_;
    std::unordered_map<std::string, Queue> queues_;
    std::unordered_map<std::string, Exchange> exchanges_;
    u64 generated_names_ = 0;
    std::vector<Queue*> targets_;  // scratch for routing
};

bool Relay::listen(u16 port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::listen(listener_, 128) != 0) {
        std::fprintf(stderr, "lepus-relay: cannot listen on 127.0.0.1:%u: %s\n", port,
                     std::strerror(errno));
        return false;
    }
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = nullptr;
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, listener_, &event);
    return true;
}

void Relay::accept_all() {
    for (;;) {
        int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        auto connection = std::make_unique<Connection>();
        connection->fd = fd;
        epoll_event event{};
        event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        event.data.ptr = connection.get();
        ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event);
        connections_.push_back(std::move(connection));
    }
}

void Relay::send_method(Connection& c, u16 channel, const amqp::Method& method) {
    wire::WireWriter writer(c.output);
    amqp::write_method_frame(writer, channel, method);
}

void Relay::close_connection_with(Connection& c, amqp::ReplyCode code, std::string_view text) {
    amqp::ConnectionClose close;
    close.reply_code = amqp::wire_code(code);
    close.reply_text = text;
    send_method(c, 0, close);
    c.closing = true;
}

void Relay::remove_consumers(Connection& c, int channel) {
    for (auto& [name, queue] : queues_) {
        std::erase_if(queue.consumers, [&](const ConsumerRef& consumer) {
            return consumer.connection == &c && (channel < 0 || consumer.channel == channel);
        });
    }
}

void Relay::drop(Connection& c) {
    remove_consumers(c, -1);
    ::close(c.fd);
    c.fd = -1;
}

void Relay::flush(Connection& c) {
    while (c.fd >= 0 && c.output_sent < c.output.size()) {
        ssize_t sent = ::send(c.fd, c.output.data() + c.output_sent,
                              c.output.size() - c.output_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent > 0) {
            c.output_sent += static_cast<usize>(sent);
            continue;
        }
        if (sent < 0 && errno == EINTR) continue;
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        drop(c);
        return;
    }
    if (c.output_sent == c.output.size()) {
        c.output.clear();
        c.output_sent = 0;
        if (c.closing && c.fd >= 0) drop(c);
    } else if (c.output_sent > (1u << 20) && c.output_sent * 2 > c.output.size()) {
        c.output.erase(0, c.output_sent);
        c.output_sent = 0;
    }
}

void Relay::read(Connection& c) {
    if (c.input_end == c.input.size()) {
        if (c.input_begin > 0) {
            std::memmove(c.input.data(), c.input.data() + c.input_begin,
                         c.input_end - c.input_begin);
            c.input_end -= c.input_begin;
            c.input_begin = 0;
        } else if (c.input.size() < receive_buffer_max) {
            c.input.resize(c.input.size() * 2);
        } else {
            close_connection_with(c, amqp::ReplyCode::frame_error,
                                  "message too large for the relay");
            c.readable = false;
            return;
        }
    }
    ssize_t got =
        ::recv(c.fd, c.input.data() + c.input_end, c.input.size() - c.input_end, MSG_DONTWAIT);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        drop(c);
        return;
    }
    if (got < 0) {
        if (errno != EINTR) c.readable = false;
        return;
    }
    c.input_end += static_cast<usize>(got);
    parse(c);
    if (c.input_begin == c.input_end) c.input_begin = c.input_end = 0;
}

void Relay::parse(Connection& c) {
    if (!c.header_received) {
        if (c.input_end - c.input_begin < amqp::protocol_header.size()) return;
        if (std::string_view(c.input.data() + c.input_begin, 8) != amqp::protocol_header) {
            c.output.append(amqp::protocol_header);
            c.closing = true;
            return;
        }
        c.input_begin += 8;
        c.header_received = true;
        std::string properties = wire::field_table_content({
            {"product", wire::FieldValue::string("lepus-relay (not a broker)")},
            {"capabilities", wire::FieldValue::table({
                                 {"publisher_confirms", wire::FieldValue::boolean(true)},
                                 {"basic.nack", wire::FieldValue::boolean(true)},
                                 {"consumer_cancel_notify", wire::FieldValue::boolean(true)},
                                 {"per_consumer_qos", wire::FieldValue::boolean(true)},
                             })},
        });
        amqp::ConnectionStart start;
        start.server_properties = properties;
        start.mechanisms = "PLAIN AMQPLAIN";
        send_method(c, 0, start);
    }
    while (!c.closing) {
        std::string_view input(c.input.data() + c.input_begin, c.input_end - c.input_begin);
        amqp::Frame frame;
        usize size = 0;
        amqp::FrameStatus status = amqp::parse_frame(input, frame_max, frame, size);
        if (status == amqp::FrameStatus::incomplete) return;
        if (status != amqp::FrameStatus::complete) {
            close_connection_with(c, amqp::ReplyCode::frame_error, "bad frame");
            return;
        }
        if (frame.type == amqp::frame_heartbeat) {
            c.input_begin += size;
            continue;
        }
        if (frame.type != amqp::frame_method || frame.channel > channel_max) {
            close_connection_with(c, amqp::ReplyCode::unexpected_frame, "content without a method");
            return;
        }
        if (frame.payload.size() >= 4 && static_cast<u8>(frame.payload[0]) == 0 &&
            static_cast<u8>(frame.payload[1]) == 60 && static_cast<u8>(frame.payload[2]) == 0 &&
            static_cast<u8>(frame.payload[3]) == 40) {
            usize position = c.input_begin + size;
            if (!handle_publish(c, frame.channel, frame.payload, position)) return;
            c.input_begin = position;
            continue;
        }
        amqp::Method method;
        u16 class_id = 0;
        u16 method_id = 0;
        if (amqp::decode_method(frame.payload, method, class_id, method_id) !=
            amqp::DecodeStatus::ok) {
            close_connection_with(c, amqp::ReplyCode::not_implemented,
                                  "unknown or malformed method");
            return;
        }
        c.input_begin += size;
        if (!handle_method(c, frame.channel, method)) return;
    }
}

bool Relay::handle_publish(Connection& c, u16 channel, std::string_view method_payload,
                           usize& position) {
    std::string_view rest(c.input.data() + position, c.input_end - position);
    amqp::Frame header;
    usize size = 0;
    if (amqp::parse_frame(rest, frame_max, header, size) != amqp::FrameStatus::complete) {
        return false;
    }
    if (header.type != amqp::frame_header || header.payload.size() < 12) {
        close_connection_with(c, amqp::ReplyCode::unexpected_frame, "publish without a header");
        return false;
    }
    wire::WireReader size_reader(header.payload.substr(4, 8));
    u64 body_size = size_reader.read_u64();
    usize offset = size;
    static thread_local std::vector<std::string_view> bodies;
    bodies.clear();
    u64 body_seen = 0;
    while (body_seen < body_size) {
        amqp::Frame body;
        if (amqp::parse_frame(rest.substr(offset), frame_max, body, size) !=
            amqp::FrameStatus::complete) {
            return false;
        }
        if (body.type != amqp::frame_body) {
            close_connection_with(c, amqp::ReplyCode::unexpected_frame, "body frame missing");
            return false;
        }
        bodies.push_back(body.payload);
        body_seen += body.payload.size();
        offset += size;
    }
    position += offset;

    amqp::BasicPublish publish;
    wire::WireReader reader(method_payload.substr(4));
    if (!publish.decode_arguments(reader)) {
        close_connection_with(c, amqp::ReplyCode::syntax_error, "malformed basic.publish");
        return false;
    }
    Channel& from = c.channels[channel];
    if (from.confirm) {
        if (from.published == from.acked) c.confirm_channels.push_back(channel);
        from.published++;
    }
    targets_.clear();
    if (publish.exchange.empty()) {
        auto queue = queues_.find(std::string(publish.routing_key));
        if (queue != queues_.end()) targets_.push_back(&queue->second);
    } else if (auto exchange = exchanges_.find(std::string(publish.exchange));
               exchange != exchanges_.end()) {
        bool fanout = exchange->second.type == "fanout";
        for (const auto& [key, queue_name] : exchange->second.bindings) {
            if (!fanout && key != publish.routing_key && key != "#") continue;
            auto queue = queues_.find(queue_name);
            if (queue == queues_.end()) continue;
            if (std::find(targets_.begin(), targets_.end(), &queue->second) == targets_.end()) {
                targets_.push_back(&queue->second);
            }
        }
    }
    for (Queue* queue : targets_) {
        if (queue->consumers.empty()) continue;
        const ConsumerRef& consumer = queue->consumers[queue->next++ % queue->consumers.size()];
        deliver(consumer, publish, header.payload, bodies);
    }
    return true;
}

void Relay::deliver(const ConsumerRef& consumer, const amqp::BasicPublish& publish,
                    std::string_view header, const std::vector<std::string_view>& bodies) {
    Connection& to = *consumer.connection;
    if (to.fd < 0 || to.closing) return;
    amqp::BasicDeliver deliver;
    deliver.consumer_tag = consumer.tag;
    deliver.delivery_tag = ++to.channels[consumer.channel].delivered;
    deliver.exchange = publish.exchange;
    deliver.routing_key = publish.routing_key;
    wire::WireWriter writer(to.output);
    amqp::write_method_frame(writer, consumer.channel, deliver);
    amqp::write_frame_header(writer, amqp::frame_header, consumer.channel,
                             static_cast<u32>(header.size()));
    writer.write_bytes(header);
    amqp::write_frame_end(writer);
    for (std::string_view body : bodies) {
        amqp::write_frame_header(writer, amqp::frame_body, consumer.channel,
                                 static_cast<u32>(body.size()));
        writer.write_bytes(body);
        amqp::write_frame_end(writer);
    }
}

bool Relay::handle_method(Connection& c, u16 channel, const amqp::Method& method) {
    Channel& ch = c.channels[channel];
    if (std::holds_alternative<amqp::ConnectionStartOk>(method)) {
        amqp::ConnectionTune tune;
        tune.channel_max = channel_max;
        tune.frame_max = frame_max;
        tune.heartbeat = 0;
        send_method(c, 0, tune);
    } else if (std::holds_alternative<amqp::ConnectionTuneOk>(method)) {
    } else if (std::holds_alternative<amqp::ConnectionOpen>(method)) {
        send_method(c, 0, amqp::ConnectionOpenOk{});
    } else if (std::holds_alternative<amqp::ConnectionClose>(method)) {
        send_method(c, 0, amqp::ConnectionCloseOk{});
        c.closing = true;
        return false;
    } else if (std::holds_alternative<amqp::ConnectionCloseOk>(method)) {
        c.closing = true;
        return false;
    } else if (std::holds_alternative<amqp::ChannelOpen>(method)) {
        ch = Channel{};
        ch.open = true;
        send_method(c, channel, amqp::ChannelOpenOk{});
    } else if (std::holds_alternative<amqp::ChannelClose>(method)) {
        remove_consumers(c, channel);
        ch = Channel{};
        send_method(c, channel, amqp::ChannelCloseOk{});
    } else if (std::holds_alternative<amqp::ChannelCloseOk>(method)) {
    } else if (const auto* exchange_declare = std::get_if<amqp::ExchangeDeclare>(&method)) {
        Exchange& exchange = exchanges_[std::string(exchange_declare->exchange)];
        if (exchange.type.empty()) exchange.type = std::string(exchange_declare->type);
        if (!exchange_declare->nowait) send_method(c, channel, amqp::ExchangeDeclareOk{});
    } else if (const auto* exchange_delete = std::get_if<amqp::ExchangeDelete>(&method)) {
        exchanges_.erase(std::string(exchange_delete->exchange));
        if (!exchange_delete->nowait) send_method(c, channel, amqp::ExchangeDeleteOk{});
    } else if (const auto* queue_declare = std::get_if<amqp::QueueDeclare>(&method)) {
        std::string name(queue_declare->queue);
        if (name.empty()) name = "amq.gen-relay-" + std::to_string(++generated_names_);
        Queue& queue = queues_[name];
        amqp::QueueDeclareOk ok;
        ok.queue = name;
        ok.consumer_count = static_cast<u32>(queue.consumers.size());
        if (!queue_declare->nowait) send_method(c, channel, ok);
    } else if (const auto* queue_bind = std::get_if<amqp::QueueBind>(&method)) {
        Exchange& exchange = exchanges_[std::string(queue_bind->exchange)];
        if (exchange.type.empty()) exchange.type = "direct";
        exchange.bindings.emplace_back(std::string(queue_bind->routing_key),
                                       std::string(queue_bind->queue));
        if (!queue_bind->nowait) send_method(c, channel, amqp::QueueBindOk{});
    } else if (const auto* queue_unbind = std::get_if<amqp::QueueUnbind>(&method)) {
        auto exchange = exchanges_.find(std::string(queue_unbind->exchange));
        if (exchange != exchanges_.end()) {
            std::erase(exchange->second.bindings, std::pair(std::string(queue_unbind->routing_key),
                                                            std::string(queue_unbind->queue)));
        }
        send_method(c, channel, amqp::QueueUnbindOk{});
    } else if (const auto* queue_purge = std::get_if<amqp::QueuePurge>(&method)) {
        if (!queue_purge->nowait) send_method(c, channel, amqp::QueuePurgeOk{});
    } else if (const auto* queue_delete = std::get_if<amqp::QueueDelete>(&method)) {
        queues_.erase(std::string(queue_delete->queue));
        if (!queue_delete->nowait) send_method(c, channel, amqp::QueueDeleteOk{});
    } else if (std::holds_alternative<amqp::BasicQos>(method)) {
        send_method(c, channel, amqp::BasicQosOk{});
    } else if (const auto* basic_consume = std::get_if<amqp::BasicConsume>(&method)) {
        std::string tag(basic_consume->consumer_tag);
        if (tag.empty()) tag = "amq.ctag-relay-" + std::to_string(++generated_names_);
        queues_[std::string(basic_consume->queue)].consumers.push_back(
            ConsumerRef{&c, channel, tag});
        amqp::BasicConsumeOk ok;
        ok.consumer_tag = tag;
        if (!basic_consume->nowait) send_method(c, channel, ok);
    } else if (const auto* basic_cancel = std::get_if<amqp::BasicCancel>(&method)) {
        for (auto& [name, queue] : queues_) {
            std::erase_if(queue.consumers, [&](const ConsumerRef& consumer) {
                return consumer.connection == &c && consumer.tag == basic_cancel->consumer_tag;
            });
        }
        amqp::BasicCancelOk ok;
        ok.consumer_tag = basic_cancel->consumer_tag;
        if (!basic_cancel->nowait) send_method(c, channel, ok);
    } else if (std::holds_alternative<amqp::BasicAck>(method) ||
               std::holds_alternative<amqp::BasicNack>(method) ||
               std::holds_alternative<amqp::BasicReject>(method)) {
    } else if (std::holds_alternative<amqp::BasicGet>(method)) {
        send_method(c, channel, amqp::BasicGetEmpty{});
    } else if (std::holds_alternative<amqp::BasicRecover>(method)) {
        send_method(c, channel, amqp::BasicRecoverOk{});
    } else if (const auto* confirm_select = std::get_if<amqp::ConfirmSelect>(&method)) {
        ch.confirm = true;
        if (!confirm_select->nowait) send_method(c, channel, amqp::ConfirmSelectOk{});
    } else {
        close_connection_with(
            c, amqp::ReplyCode::not_implemented,
            "lepus-relay does not implement " + std::string(amqp::method_name(method)));
        return false;
    }
    return true;
}

void Relay::run() {
    epoll_event events[256];
    std::vector<Connection*> readable;
    for (;;) {
        bool congested = false;
        for (auto& connection : connections_) {
            congested |= connection->output.size() - connection->output_sent > output_high_water;
        }
        // Readable connections left over: poll without sleeping (1 ms while congested, when
        // only some of them may be read).
        int timeout = readable.empty() ? -1 : (congested ? 1 : 0);
        int ready = ::epoll_wait(epoll_, events, 256, timeout);
        for (int i = 0; i < ready; i++) {
            auto* connection = static_cast<Connection*>(events[i].data.ptr);
            if (connection == nullptr) {
                accept_all();
                continue;
            }
            if ((events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) &&
                !connection->readable) {
                connection->readable = true;
                readable.push_back(connection);
            }
        }
        // One recv per connection per turn keeps publishers fair to each other. While some
        // output is congested, only the congested connections are read: their peers (the
        // consumers) may be waiting to send acks before they read more, and not reading them
        // would deadlock.
        for (Connection* connection : readable) {
            bool own_congested =
                connection->output.size() - connection->output_sent > output_high_water;
            if ((!congested || own_congested) && connection->fd >= 0 && !connection->closing) {
                read(*connection);
            }
        }
        for (auto& connection : connections_) {
            Connection& c = *connection;
            for (u16 channel : c.confirm_channels) {
                Channel& ch = c.channels[channel];
                amqp::BasicAck ack;
                ack.delivery_tag = ch.published;
                ack.multiple = true;
                send_method(c, channel, ack);
                ch.acked = ch.published;
            }
            c.confirm_channels.clear();
            if (c.fd >= 0) flush(c);
        }
        std::erase_if(readable, [](Connection* c) { return !c->readable || c->fd < 0; });
        std::erase_if(connections_, [](const std::unique_ptr<Connection>& c) { return c->fd < 0; });
    }
}

}  // namespace
}  // namespace lepus::relay

int main(int argc, char** argv) {
    unsigned port = 5673;
    int cpu = -1;
    for (int i = 1; i < argc; i++) {
        std::string_view arg = argv[i];
        std::string_view value;
        if (lepus::usize equals = arg.find('='); equals != std::string_view::npos) {
            value = arg.substr(equals + 1);
            arg = arg.substr(0, equals);
        } else if ((arg == "--port" || arg == "--cpu") && i + 1 < argc) {
            value = argv[++i];
        }
        if (arg == "--help" || arg == "-h") {
            std::fputs(lepus::relay::help_text.data(), stdout);
            return 0;
        } else if (arg == "--port") {
            auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), port);
            if (error != std::errc{} || port == 0 || port > 65535) {
                std::fprintf(stderr, "lepus-relay: bad --port\n");
                return 2;
            }
        } else if (arg == "--cpu") {
            // A list is accepted for symmetry with lepus-perf; the one thread takes its first CPU.
            std::string_view first = value.substr(0, value.find_first_of(",-"));
            auto [end, error] = std::from_chars(first.data(), first.data() + first.size(), cpu);
            if (error != std::errc{} || cpu < 0) {
                std::fprintf(stderr, "lepus-relay: bad --cpu\n");
                return 2;
            }
        } else {
            std::fprintf(stderr, "lepus-relay: unknown option %s\nTry 'lepus-relay --help'.\n",
                         argv[i]);
            return 2;
        }
    }
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        ::pthread_setaffinity_np(::pthread_self(), sizeof(set), &set);
    }
    std::signal(SIGPIPE, SIG_IGN);
    lepus::relay::Relay relay;
    if (!relay.listen(static_cast<lepus::u16>(port))) return 1;
    std::fprintf(stderr, "lepus-relay: listening on 127.0.0.1:%u (not a broker)\n", port);
    relay.run();
}
