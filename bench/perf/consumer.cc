#include "bench/perf/consumer.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cstring>

#include "core/base/assert.h"
#include "core/wire/wire_reader.h"
#include "core/wire/wire_writer.h"

namespace lepus::perf {

namespace {

constexpr usize reads_per_turn_max = 8;
constexpr u64 sequence_mask = (u64{1} << sequence_bits) - 1;

u64 load_u64(const char* at) {
    u64 value = 0;
    for (int i = 0; i < 8; i++) value = (value << 8) | static_cast<u8>(at[i]);
    return value;
}

u32 method_id_at(std::string_view payload) {
    if (payload.size() < 4) return 0;
    return (u32{static_cast<u8>(payload[0])} << 24) | (u32{static_cast<u8>(payload[1])} << 16) |
           (u32{static_cast<u8>(payload[2])} << 8) | static_cast<u8>(payload[3]);
}

// The producers have stopped: keep what the consumers had received by now.
void close_publishing_phase(ConsumerShared& shared, u64 now) {
    shared.latency_publishing = shared.latency;
    shared.received_publishing = shared.received.load(std::memory_order_relaxed);
    shared.publishing_closed_ns = now;
    shared.publishing_closed = true;
}

}  // namespace

SequenceTracker::SequenceTracker(const Options& options)
    : options_(options),
      seen_(usize{options.queues} * options.producers),
      duplicates_(options.producers, 0) {
    if (options.count == 0) return;
    // Known counts: size the bitmaps once, before the clock starts.
    for (u32 q = 0; q < options.queues; q++) {
        for (u32 p = 0; p < options.producers; p++) {
            if (options.routes_to(p, q))
                seen_[q * options.producers + p].bits.resize((options.count + 63) / 64);
        }
    }
}

bool SequenceTracker::record(u32 queue, u64 word) {
    u64 producer = word >> sequence_bits;
    u64 sequence = word & sequence_mask;
    if (producer >= options_.producers || !options_.routes_to(static_cast<u32>(producer), queue)) {
        foreign_++;
        return true;
    }
    Seen& seen = seen_[queue * options_.producers + producer];
    usize word_index = static_cast<usize>(sequence / 64);
    if (word_index >= seen.bits.size()) {
        seen.bits.resize(std::max<usize>(word_index + 1, seen.bits.size() * 2), 0);
    }
    u64 bit = u64{1} << (sequence % 64);
    if ((seen.bits[word_index] & bit) != 0) {
        duplicates_[producer]++;
        return false;
    }
    seen.bits[word_index] |= bit;
    seen.count++;
    unique_++;
    return true;
}

u64 SequenceTracker::gaps(u32 producer, u64 sent, const std::vector<bool>& consumed_queues) const {
    u64 missing = 0;
    for (u32 q = 0; q < options_.queues; q++) {
        if (!consumed_queues[q] || !options_.routes_to(producer, q)) continue;
        u64 count = seen_[q * options_.producers + producer].count;
        missing += sent > count ? sent - count : 0;
    }
    return missing;
}

Consumer::Consumer(const Options& options, u32 id, Connection& connection, ConsumerShared& shared)
    : options_(options),
      id_(id),
      queue_(id % options.queues),
      connection_(connection),
      shared_(shared) {}

bool Consumer::prepare() {
    if (options_.prefetch > 0) {
        amqp::BasicQos qos;
        qos.prefetch_count = options_.prefetch;
        amqp::BasicQosOk qos_ok;
        if (!connection_.call(qos, qos_ok)) return false;
    }
    std::string queue = options_.queue_name(queue_);
    std::string tag = "lepus-perf-" + std::to_string(id_);
    amqp::BasicConsume consume;
    consume.queue = queue;
    consume.consumer_tag = tag;
    consume.no_ack = options_.autoack;
    amqp::BasicConsumeOk consume_ok;
    return connection_.call(consume, consume_ok);
}

void Consumer::on_message(u64 now) {
    shared_.received.fetch_add(1, std::memory_order_relaxed);
    if (redelivered_) shared_.redelivered++;
    if (body_size_ >= body_size_min) {
        u64 sent = load_u64(head_);
        u64 latency = now > sent ? now - sent : 0;
        shared_.latency.record(latency);
        shared_.latency_interval.record(latency);
        if (!shared_.tracker.record(queue_, load_u64(head_ + 8))) shared_.duplicates++;
    }
    if (options_.autoack) return;
    last_tag_ = delivery_tag_;
    if (++unacked_ >= options_.multi_ack_every) {
        amqp::BasicAck ack;
        ack.delivery_tag = last_tag_;
        ack.multiple = true;
        wire::WireWriter writer(acks_);
        amqp::write_method_frame(writer, perf_channel, ack);
        unacked_ = 0;
    }
}

bool Consumer::parse_input(u64 now) {
    for (;;) {
        amqp::Frame frame;
        amqp::FrameStatus status = connection_.next_frame(frame);
        if (status == amqp::FrameStatus::incomplete) return true;
        if (status != amqp::FrameStatus::complete) return false;
        if (frame.type == amqp::frame_heartbeat) {
            wire::WireWriter writer(acks_);
            amqp::write_heartbeat_frame(writer);
            continue;
        }
        switch (expect_) {
            case Expect::header: {
                if (frame.type != amqp::frame_header || frame.payload.size() < 12) {
                    return connection_.fail("the broker sent a delivery without its header");
                }
                body_size_ = load_u64(frame.payload.data() + 4);
                body_remaining_ = body_size_;
                head_size_ = 0;
                expect_ = Expect::body;
                if (body_remaining_ == 0) {
                    expect_ = Expect::method;
                    on_message(now);
                }
                continue;
            }
            case Expect::body: {
                if (frame.type != amqp::frame_body || frame.payload.size() > body_remaining_) {
                    return connection_.fail(
                        "the broker sent a body that does not match its header");
                }
                usize take = std::min(frame.payload.size(), sizeof(head_) - head_size_);
                std::memcpy(head_ + head_size_, frame.payload.data(), take);
                head_size_ += take;
                body_remaining_ -= frame.payload.size();
                if (body_remaining_ == 0) {
                    expect_ = Expect::method;
                    on_message(now);
                }
                continue;
            }
            case Expect::method: break;
        }
        if (frame.type != amqp::frame_method) {
            return connection_.fail("the broker sent a content frame without a method");
        }
        if (method_id_at(frame.payload) == amqp::BasicDeliver::id) {
            wire::WireReader reader(frame.payload.substr(4));
            reader.read_shortstr();  // consumer tag
            delivery_tag_ = reader.read_u64();
            redelivered_ = (reader.read_u8() & 1) != 0;
            if (!reader.ok()) return connection_.fail("the broker sent a malformed basic.deliver");
            expect_ = Expect::header;
            continue;
        }
        amqp::Method method;
        u16 class_id = 0;
        u16 method_id = 0;
        if (amqp::decode_method(frame.payload, method, class_id, method_id) !=
            amqp::DecodeStatus::ok) {
            return connection_.fail("the broker sent a malformed method (" +
                                    std::string(amqp::method_name(class_id, method_id)) + ")");
        }
        if (std::holds_alternative<amqp::ConnectionClose>(method) ||
            std::holds_alternative<amqp::ChannelClose>(method)) {
            return connection_.fail_with_close(method, frame.channel);
        }
        if (std::holds_alternative<amqp::BasicCancel>(method)) {
            return connection_.fail("the broker cancelled the consumer of queue '" +
                                    options_.queue_name(queue_) + "'");
        }
    }
}

bool Consumer::on_readable(u64 now) {
    if (state_ == State::failed) return false;
    for (usize i = 0; i < reads_per_turn_max; i++) {
        ReadResult result = connection_.receive();
        if (result == ReadResult::would_block) return false;
        if (result != ReadResult::data || !parse_input(now)) {
            state_ = State::failed;
            return false;
        }
    }
    return true;
}

void Consumer::flush_acks() {
    if (state_ == State::failed) return;
    while (acks_sent_ < acks_.size()) {
        i64 sent = connection_.send_some(acks_.data() + acks_sent_, acks_.size() - acks_sent_);
        if (sent < 0) {
            state_ = State::failed;
            return;
        }
        if (sent == 0) return;  // EPOLLOUT brings us back
        acks_sent_ += static_cast<usize>(sent);
    }
    acks_.clear();
    acks_sent_ = 0;
}

void Consumer::ack_rest() {
    if (options_.autoack || unacked_ == 0 || state_ == State::failed) return;
    amqp::BasicAck ack;
    ack.delivery_tag = last_tag_;
    ack.multiple = true;
    wire::WireWriter writer(acks_);
    amqp::write_method_frame(writer, perf_channel, ack);
    unacked_ = 0;
    flush_acks();
}

void run_consumers(std::vector<Consumer*>& consumers, ConsumerShared& shared, u64 start_ns) {
    int epoll = ::epoll_create1(EPOLL_CLOEXEC);
    LEPUS_ASSERT(epoll >= 0);
    for (Consumer* consumer : consumers) {
        epoll_event event{};
        event.events = EPOLLIN | EPOLLOUT | EPOLLET;
        event.data.ptr = consumer;
        LEPUS_ASSERT(::epoll_ctl(epoll, EPOLL_CTL_ADD, consumer->connection().fd(), &event) == 0);
    }
    std::vector<Consumer*> more_input;  // read budget ran out: read again without waiting
    std::vector<Consumer*> next_more;
    epoll_event events[64];
    u64 interval = 1;
    u64 received_before = 0;
    u64 next_report_ns = start_ns + 1000000000;
    for (;;) {
        u64 now = now_ns();
        timespec timeout{};
        if (more_input.empty() && next_report_ns > now) {
            u64 wait = std::min<u64>(next_report_ns - now, 50 * 1000 * 1000);
            timeout.tv_sec = static_cast<time_t>(wait / 1000000000);
            timeout.tv_nsec = static_cast<long>(wait % 1000000000);
        }
        int ready = ::epoll_pwait2(epoll, events, 64, &timeout, nullptr);
        now = now_ns();
        // Before this turn's input: a turn's messages all count on one side of the end.
        if (!shared.publishing_closed &&
            now >= shared.publishing_end_ns.load(std::memory_order_acquire)) {
            close_publishing_phase(shared, now);
        }
        next_more.clear();
        for (Consumer* consumer : more_input) {
            if (consumer->on_readable(now)) next_more.push_back(consumer);
        }
        for (int i = 0; i < ready; i++) {
            auto* consumer = static_cast<Consumer*>(events[i].data.ptr);
            if ((events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) &&
                std::find(more_input.begin(), more_input.end(), consumer) == more_input.end()) {
                if (consumer->on_readable(now)) next_more.push_back(consumer);
            }
        }
        more_input.swap(next_more);
        bool alive = false;
        for (Consumer* consumer : consumers) {
            consumer->flush_acks();
            alive |= consumer->state() == Consumer::State::consuming;
        }
        u64 received = shared.received.load(std::memory_order_relaxed);
        if (received != received_before) {
            shared.last_receive_ns.store(now, std::memory_order_relaxed);
            received_before = received;
        }
        if (now >= next_report_ns) {
            shared.interval_p50_ns.store(shared.latency_interval.quantile(0.5));
            shared.interval_p99_ns.store(shared.latency_interval.quantile(0.99));
            shared.interval_count.store(shared.latency_interval.total());
            shared.interval_index.store(interval, std::memory_order_release);
            shared.latency_interval.reset();
            interval++;
            next_report_ns += 1000000000;
        }
        if (!alive) break;
        if (shared.tracker.unique() >= shared.expected.load(std::memory_order_acquire)) break;
        u64 stop_ns = shared.stop_ns.load(std::memory_order_acquire);
        u64 idle_since = std::max(stop_ns, shared.last_receive_ns.load(std::memory_order_relaxed));
        if (now >= stop_ns && now - idle_since >= shared.grace_ns.load()) break;
        if (now >= stop_ns && now - stop_ns >= ConsumerShared::drain_max_ns) break;
    }
    // Every consumer failed before publishing ended: what arrived, arrived while publishing.
    if (!shared.publishing_closed) close_publishing_phase(shared, now_ns());
    for (Consumer* consumer : consumers) consumer->ack_rest();
    ::close(epoll);
}

}  // namespace lepus::perf
