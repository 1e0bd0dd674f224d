#include "bench/perf/producer.h"

#include <sys/epoll.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "core/base/assert.h"
#include "core/wire/field_table.h"
#include "core/wire/wire_reader.h"
#include "core/wire/wire_writer.h"

namespace lepus::perf {

namespace {

constexpr u64 never = ~u64{0};
constexpr usize reads_per_turn_max = 8;
constexpr usize batches_per_turn_max = 4;

void store_u64(char* at, u64 value) {
    for (int i = 7; i >= 0; i--) {
        at[i] = static_cast<char>(value);
        value >>= 8;
    }
}

u32 method_id_at(std::string_view payload) {
    if (payload.size() < 4) return 0;
    return (u32{static_cast<u8>(payload[0])} << 24) | (u32{static_cast<u8>(payload[1])} << 16) |
           (u32{static_cast<u8>(payload[2])} << 8) | static_cast<u8>(payload[3]);
}

}  // namespace

Producer::Producer(const Options& options, u32 id, Connection& connection)
    : options_(options), id_(id), connection_(connection) {}

bool Producer::prepare() {
    if (options_.confirm > 0) {
        amqp::ConfirmSelectOk selected;
        if (!connection_.call(amqp::ConfirmSelect{}, selected)) return false;
        usize ring = std::bit_ceil(usize{options_.confirm} * 2);
        sent_ns_.assign(ring, 0);
        ring_mask_ = ring - 1;
    }
    std::string queue = options_.queue_name(id_ % options_.queues);
    amqp::BasicPublish publish;
    publish.exchange = options_.exchange;
    publish.routing_key = queue;
    std::string headers;
    amqp::ContentHeader header;
    header.body_size = options_.size;
    if (options_.persistent) header.properties.set_delivery_mode(2);
    if (!options_.exchange.empty() && options_.exchange_type == ExchangeType::headers) {
        headers = wire::field_table_content({{"queue", wire::FieldValue::string(queue)}});
        header.properties.set_headers(headers);
    }
    wire::WireWriter writer(message_);
    amqp::write_method_frame(writer, perf_channel, publish);
    amqp::write_content_header_frame(writer, perf_channel, header);
    usize chunk_max = connection_.frame_max() - amqp::frame_overhead;
    timestamp_offset_ = message_.size() + amqp::frame_header_size;
    for (usize offset = 0; offset < options_.size; offset += chunk_max) {
        usize chunk = std::min<usize>(chunk_max, options_.size - offset);
        amqp::write_frame_header(writer, amqp::frame_body, perf_channel, static_cast<u32>(chunk));
        message_.append(chunk, '\0');
        amqp::write_frame_end(writer);
    }
    message_count_per_batch_ =
        std::clamp<usize>(batch_bytes_target / message_.size(), 1, batch_messages_max);
    usize capacity = message_count_per_batch_ * message_.size() + amqp::frame_overhead;
    batch_.reset(new char[capacity]);
    for (usize i = 0; i < message_count_per_batch_; i++) {
        std::memcpy(batch_.get() + i * message_.size(), message_.data(), message_.size());
    }
    // The producer id never changes: write it once into every copy's sequence word.
    for (usize i = 0; i < message_count_per_batch_; i++) {
        store_u64(batch_.get() + i * message_.size() + timestamp_offset_ + 8,
                  u64{id_} << sequence_bits);
    }
    return true;
}

void Producer::start(u64 start_ns, u64 deadline_ns) {
    if (options_.rate > 0) {
        interval_ns_ = 1e9 / static_cast<double>(options_.rate);
        // Spread producers over one interval so fixed-rate producers do not publish in step.
        start_ns += static_cast<u64>(interval_ns_ * id_ / std::max<u32>(options_.producers, 1));
    }
    start_ns_ = start_ns;
    deadline_ns_ = deadline_ns;
}

usize Producer::due_messages(u64 now) const {
    u64 limit = message_count_per_batch_;
    if (options_.count > 0) limit = std::min(limit, options_.count - published_);
    if (options_.confirm > 0) {
        u64 in_flight = published_ - settled_;
        u64 room = options_.confirm > in_flight ? options_.confirm - in_flight : 0;
        u64 span_room = sent_ns_.size() - (published_ - low_water_);
        limit = std::min({limit, room, span_room});
    }
    if (options_.rate > 0) {
        if (now < start_ns_) return 0;
        u64 due = static_cast<u64>(static_cast<double>(now - start_ns_) / interval_ns_) + 1;
        limit = std::min(limit, due > published_ ? due - published_ : 0);
    }
    return static_cast<usize>(limit);
}

void Producer::fill(usize messages, u64 now) {
    LEPUS_ASSERT(batch_sent_ == batch_size_);
    usize size = message_.size();
    // A heartbeat sent after a short batch went into the first bytes of the next message's
    // copy: put the message's own bytes back before that copy goes out.
    if (heartbeat_overwrote_ != no_slot) {
        std::memcpy(batch_.get() + heartbeat_overwrote_ * size, message_.data(),
                    amqp::frame_overhead);
        heartbeat_overwrote_ = no_slot;
    }
    for (usize i = 0; i < messages; i++) {
        char* at = batch_.get() + i * size + timestamp_offset_;
        store_u64(at, now);
        // The sequence word's top bits hold the producer id, written in prepare().
        u64 sequence = (u64{id_} << sequence_bits) | (published_ + i);
        store_u64(at + 8, sequence);
        if (!sent_ns_.empty()) sent_ns_[(published_ + i + 1) & ring_mask_] = now;
    }
    batch_size_ = messages * size;
    batch_sent_ = 0;
    batch_messages_ = messages;
    if (heartbeat_owed_) {
        std::string beat;
        wire::WireWriter writer(beat);
        amqp::write_heartbeat_frame(writer);
        LEPUS_ASSERT(beat.size() <= amqp::frame_overhead && beat.size() <= size);
        std::memcpy(batch_.get() + batch_size_, beat.data(), beat.size());
        if (messages < message_count_per_batch_) heartbeat_overwrote_ = messages;
        batch_size_ += beat.size();
        heartbeat_owed_ = false;
    }
    published_ += messages;
    last_fill_ns_ = now;
    counters_.published.store(published_, std::memory_order_relaxed);
    counters_.last_publish_ns.store(now, std::memory_order_relaxed);
}

bool Producer::flush() {
    while (batch_sent_ < batch_size_) {
        i64 sent = connection_.send_some(batch_.get() + batch_sent_, batch_size_ - batch_sent_);
        if (sent < 0) {
            state_ = State::failed;
            return false;
        }
        if (sent == 0) {
            writable_ = false;  // edge-triggered EPOLLOUT says when to go on
            return false;
        }
        batch_sent_ += static_cast<usize>(sent);
    }
    return true;
}

u64 Producer::pump(u64 now) {
    if (state_ == State::failed || state_ == State::finished) return never;
    if (now < start_ns_) return start_ns_;
    if (state_ == State::publishing && deadline_ns_ != 0 && now >= deadline_ns_) {
        stop_publishing(now);
    }
    bool flushed = writable_ && flush();
    if (state_ == State::failed) return never;
    // Stopped, now or before: nothing more is filled. A stop with the last batch already out
    // and nothing to confirm finishes at once, and must not go on to publish one batch more,
    // which could then be counted as published without ever being written whole.
    if (state_ != State::publishing) {
        check_settled(now);
        return state_ == State::settling ? settle_deadline_ns_ : never;
    }
    if (!flushed) return deadline_ns_ != 0 ? deadline_ns_ : never;
    // The count is reached once the last batch is on the wire, which may be a later turn than
    // the one that filled it (a large batch often goes out in several writes).
    auto counted = [&] { return options_.count > 0 && published_ == options_.count; };
    for (usize turn = 0; turn < batches_per_turn_max && !counted(); turn++) {
        usize messages = due_messages(now);
        if (messages == 0) break;
        fill(messages, now);
        if (!flush()) return never;
    }
    if (counted()) {
        stop_publishing(now);
        return state_ == State::settling ? settle_deadline_ns_ : never;
    }
    u64 wake = deadline_ns_ != 0 ? deadline_ns_ : never;
    if (options_.rate > 0) {
        u64 next_due = start_ns_ + static_cast<u64>(interval_ns_ * static_cast<double>(published_));
        if (interval_ns_ < rate_tick_ns)
            next_due = std::max(next_due, last_fill_ns_ + rate_tick_ns);
        return std::min(wake, next_due);
    }
    // Flat out: again at once, unless the confirm window is what holds us back (an ack wakes
    // us through epoll).
    return due_messages(now) > 0 ? 0 : wake;
}

void Producer::stop_publishing(u64 now) {
    if (state_ != State::publishing) return;
    state_ = State::settling;
    settle_deadline_ns_ = now + static_cast<u64>(options_.grace_s * 1e9);
    check_settled(now);
}

void Producer::check_settled(u64 now) {
    if (state_ != State::settling) return;
    bool sent = batch_sent_ == batch_size_;
    if ((sent && (options_.confirm == 0 || settled_ == published_)) || now >= settle_deadline_ns_) {
        if (!sent) withdraw_unsent();
        state_ = State::finished;
    }
}

void Producer::withdraw_unsent() {
    usize whole = std::min(batch_messages_, batch_sent_ / message_.size());
    u64 unsent = batch_messages_ - whole;
    LEPUS_ASSERT(unsent <= published_);
    published_ -= unsent;
    counters_.published.store(published_, std::memory_order_relaxed);
    counters_.unsent.store(unsent, std::memory_order_relaxed);
}

void Producer::settle(u64 tag, bool multiple, bool ack, u64 now) {
    if (sent_ns_.empty() || tag > published_) return;
    auto settle_one = [&](u64 t) {
        u64& sent = sent_ns_[t & ring_mask_];
        if (sent == 0) return;
        if (ack) confirm_latency_.record(now > sent ? now - sent : 0);
        sent = 0;
        settled_++;
        if (ack)
            counters_.confirmed.fetch_add(1, std::memory_order_relaxed);
        else
            counters_.nacked.fetch_add(1, std::memory_order_relaxed);
    };
    if (multiple) {
        for (u64 t = low_water_ + 1; t <= tag; t++) settle_one(t);
        low_water_ = std::max(low_water_, tag);
    } else if (tag > low_water_) {
        settle_one(tag);
    }
    while (low_water_ < published_ && sent_ns_[(low_water_ + 1) & ring_mask_] == 0) low_water_++;
    counters_.last_confirm_ns.store(now, std::memory_order_relaxed);
}

bool Producer::parse_input(u64 now) {
    for (;;) {
        amqp::Frame frame;
        amqp::FrameStatus status = connection_.next_frame(frame);
        if (status == amqp::FrameStatus::incomplete) return true;
        if (status != amqp::FrameStatus::complete) return false;
        if (frame.type == amqp::frame_heartbeat) {
            heartbeat_owed_ = true;
            continue;
        }
        if (frame.type != amqp::frame_method) continue;  // content of a basic.return
        u32 id = method_id_at(frame.payload);
        if (id == amqp::BasicAck::id || id == amqp::BasicNack::id) {
            wire::WireReader reader(frame.payload.substr(4));
            u64 tag = reader.read_u64();
            bool multiple = (reader.read_u8() & 1) != 0;
            if (!reader.ok()) return connection_.fail("the broker sent a malformed basic.ack");
            settle(tag, multiple, id == amqp::BasicAck::id, now);
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
        // connection.blocked / unblocked and basic.return need no action: a blocked
        // connection simply stops taking our bytes.
    }
}

void Producer::on_readable(u64 now) {
    if (state_ == State::failed) return;
    for (usize i = 0; i < reads_per_turn_max; i++) {
        ReadResult result = connection_.receive();
        if (result == ReadResult::would_block) break;
        if (result != ReadResult::data || !parse_input(now)) {
            state_ = State::failed;
            return;
        }
    }
    check_settled(now);
}

void run_producers(std::vector<Producer*>& producers, const Options& options,
                   std::atomic<bool>& stop, std::atomic<u64>& publishing_end_ns) {
    (void)options;
    int epoll = ::epoll_create1(EPOLL_CLOEXEC);
    LEPUS_ASSERT(epoll >= 0);
    for (Producer* producer : producers) {
        epoll_event event{};
        event.events = EPOLLIN | EPOLLOUT | EPOLLET;
        event.data.ptr = producer;
        LEPUS_ASSERT(::epoll_ctl(epoll, EPOLL_CTL_ADD, producer->connection().fd(), &event) == 0);
    }
    epoll_event events[64];
    u64 wake = 0;
    bool stopping = false;
    bool publishing = true;
    for (;;) {
        u64 now = now_ns();
        timespec timeout{};
        if (wake > now) {
            u64 wait = std::min<u64>(wake - now, 50 * 1000 * 1000);  // 50 ms: see `stop`
            timeout.tv_sec = static_cast<time_t>(wait / 1000000000);
            timeout.tv_nsec = static_cast<long>(wait % 1000000000);
        }
        int ready = ::epoll_pwait2(epoll, events, 64, &timeout, nullptr);
        now = now_ns();
        for (int i = 0; i < ready; i++) {
            auto* producer = static_cast<Producer*>(events[i].data.ptr);
            if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) producer->on_readable(now);
            if (events[i].events & EPOLLOUT) producer->on_writable();
        }
        if (stop.load(std::memory_order_relaxed) && !stopping) {
            stopping = true;
            for (Producer* producer : producers) producer->stop_publishing(now);
        }
        wake = never;
        bool active = false;
        bool any_publishing = false;
        for (Producer* producer : producers) {
            wake = std::min(wake, producer->pump(now));
            Producer::State state = producer->state();
            active |= state == Producer::State::publishing || state == Producer::State::settling;
            any_publishing |= state == Producer::State::publishing;
        }
        // Marked here rather than when `active` drops: settling confirms may take up to the
        // grace, and the consumers' publishing-phase figures must not include that time.
        if (publishing && !any_publishing) {
            publishing = false;
            publishing_end_ns.store(now, std::memory_order_release);
        }
        if (!active) break;
    }
    ::close(epoll);
}

}  // namespace lepus::perf
