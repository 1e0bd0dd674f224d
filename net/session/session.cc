#include "net/session/session.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "net/session/bounce.h"
#include "net/session/channel.h"

namespace lepus::session {

using namespace lepus::amqp;

namespace {

// The class and method ids at the start of a method frame's payload, without decoding it.
u32 peek_method(std::string_view payload) {
    if (payload.size() < 4) return 0;
    auto b = [&](usize i) { return static_cast<u32>(static_cast<u8>(payload[i])); };
    return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

}  // namespace

Session::Session(Services& services, SessionHost& host, core::ConnectionKey key, Peer peer)
    : services_(services),
      host_(host),
      peer_is_loopback_(peer.loopback),
      peer_tls_(peer.tls),
      connection_name_(std::move(peer.connection_name)) {
    facts_.key = key;
    facts_.peer_name = std::move(peer.name);
}

Session::~Session() {
    uncount();
    drop_carry();
    channels_.clear();
}

void Session::start() {
    opened_ms_ = last_received_ms_ = last_sent_ms_ = services_.now_ms;
    if (log::enabled(log::Level::info))
        log_connection_event(accepted_fields(identity(), peer_tls_));
}

// ---- bytes in ----

usize Session::consume(const char* data, usize size, const ChunkRef& chunk, u64 budget,
                       u64& spent) {
    usize used = handle_bytes(data, size, chunk, budget, spent);
    // Input is over for good: the rest is dropped unread. While an open awaits its admission
    // the rest waits with the host.
    return takes_input_but_for_admission() ? used : size;
}

usize Session::handle_bytes(const char* data, usize size, const ChunkRef& chunk, u64 budget,
                            u64& spent) {
    const char* start = data;
    usize left = size;
    auto used = [&] { return static_cast<usize>(data - start); };
    if (state_ == State::protocol_header) {
        if (!take_protocol_header(data, left)) {
            spent += used();
            return size;  // the header is incomplete, or refused and the rest is ignored
        }
    }
    if (!takes_input_but_for_admission()) return size;
    if (awaiting_admission_) return 0;
    if (carry_size_ > 0) {
        carry_bytes(data, left);
        if (carry_needed_ == 0 || carry_size_ < carry_needed_) {
            spent += used();
            return used();
        }
        ChunkRef carried = carry_;  // the frame is whole: no longer incomplete
        u32 carried_size = carry_size_;
        drop_carry();
        u64 carried_spent = 0;
        usize parsed = parse_frames(carried.get()->data(), carried_size, carried,
                                    std::numeric_limits<u64>::max(), carried_spent);
        LEPUS_ASSERT(parsed == carried_size || !takes_input());
        spent += used() + (carried_spent - carried_size);  // the routing work it caused
    }
    if (left > 0 && takes_input() && spent < budget) {
        usize parsed = parse_frames(data, left, chunk, budget, spent);
        data += parsed;
        left -= parsed;
        // Stopped short of the budget with bytes left: they begin a frame still incomplete.
        if (left > 0 && spent < budget && takes_input()) {
            carry_bytes(data, left);
            spent += left;
            data += left;
            left = 0;
        }
    }
    return used();
}

bool Session::take_protocol_header(const char*& data, usize& size) {
    usize need = protocol_header.size() - header_bytes_.size();
    usize n = std::min(need, size);
    header_bytes_.append(data, n);
    data += n;
    size -= n;
    if (header_bytes_.size() < protocol_header.size()) return false;
    if (header_bytes_ != protocol_header) {
        LEPUS_LOG(warning, "%s sent an unsupported protocol header; replying with ours",
                  facts_.peer_name.c_str());
        host_.out().writer().write_bytes(protocol_header);
        close_after_send_ = true;
        enter_closing();
        request_flush();
        return false;
    }
    state_ = State::start_ok;
    send_start();
    return true;
}

void Session::carry_bytes(const char*& data, usize& size) {
    IncompleteFrames& incomplete = services_.incomplete_frames;
    if (!carry_) {
        carry_started_ms_ = services_.now_ms;
        incomplete.holders.push_back(this);
    }
    for (;;) {
        // The frame's size is known once its 7-byte header is in; until then carry a header's
        // worth. parse_frame has already refused a frame larger than frame_max.
        u32 want = carry_needed_ > 0 ? carry_needed_ : static_cast<u32>(frame_header_size);
        usize n = std::min<usize>(want - carry_size_, size);
        u32 required = carry_size_ + static_cast<u32>(n);
        if (!carry_ || carry_.get()->capacity < required) {
            // Grown with what has arrived, doubling, never to more than the frame: a peer that
            // sends the header of a large frame and then stops holds what it sent, not what
            // the header announced.
            u32 grown = carry_ ? carry_.get()->capacity * 2 : limits::incomplete_frame_chunk_min;
            u32 capacity = std::max(required, std::min(want, grown));
            make_room_for_incomplete_frame(capacity);
            if (!takes_input()) return;  // evicted itself
            Chunk* bigger = Chunk::allocate(capacity);
            if (carry_size_ > 0) std::memcpy(bigger->data(), carry_.get()->data(), carry_size_);
            if (carry_) incomplete.bytes -= carry_.get()->capacity;
            incomplete.bytes += capacity;
            carry_ = ChunkRef::adopt(bigger);
        }
        std::memcpy(carry_.get()->data() + carry_size_, data, n);
        carry_size_ += static_cast<u32>(n);
        data += n;
        size -= n;
        if (carry_needed_ == 0 && carry_size_ >= frame_header_size) {
            const auto* h = reinterpret_cast<const u8*>(carry_.get()->data());
            u32 payload = (u32{h[3]} << 24) | (u32{h[4]} << 16) | (u32{h[5]} << 8) | h[6];
            if (u64{payload} + frame_overhead > facts_.frame_max) {
                frame_error(ReplyCode::frame_error,
                            "FRAME_ERROR - frame of " + std::to_string(payload) +
                                " bytes exceeds frame_max " + std::to_string(facts_.frame_max));
                return;
            }
            carry_needed_ = payload + static_cast<u32>(frame_overhead);
            continue;  // take the rest of it
        }
        return;
    }
}

void Session::evict_incomplete_frame() {
    LEPUS_LOG(warning,
              "closing connection %s: incomplete frames on this shard hold more than %llu MiB, "
              "and its frame (begun %llu ms ago) is the oldest",
              facts_.peer_name.c_str(),
              static_cast<unsigned long long>(limits::shard_incomplete_frame_bytes_max >> 20),
              static_cast<unsigned long long>(services_.now_ms - carry_started_ms_));
    drop_carry();
    frame_error(ReplyCode::resource_error,
                "RESOURCE_ERROR - incomplete frames exceed the broker's limit");
}

void Session::drop_carry() {
    if (carry_) {
        IncompleteFrames& incomplete = services_.incomplete_frames;
        incomplete.bytes -= carry_.get()->capacity;
        std::erase(incomplete.holders, this);
    }
    carry_.reset();
    carry_size_ = carry_needed_ = 0;
}

void Session::make_room_for_incomplete_frame(u64 bytes) {
    IncompleteFrames& incomplete = services_.incomplete_frames;
    u64 held = carry_ ? carry_.get()->capacity : 0;  // given back when the bigger one comes
    if (incomplete.bytes - held + bytes <= limits::shard_incomplete_frame_bytes_max) return;
    std::vector<Session*> oldest_first = incomplete.holders;
    std::stable_sort(oldest_first.begin(), oldest_first.end(), [](Session* a, Session* b) {
        return a->carry_started_ms_ < b->carry_started_ms_;
    });
    for (Session* holder : oldest_first) {
        held = carry_ ? carry_.get()->capacity : 0;
        if (incomplete.bytes - held + bytes <= limits::shard_incomplete_frame_bytes_max) return;
        holder->evict_incomplete_frame();
        if (holder == this) return;
    }
}

usize Session::parse_frames(const char* data, usize size, const ChunkRef& chunk, u64 budget,
                            u64& spent) {
    usize position = 0;
    const core::Catalog& catalog = services_.broker.catalog();
    while (position < size && takes_input() && spent < budget) {
        Frame frame;
        usize frame_size = 0;
        FrameStatus status = parse_frame(std::string_view(data + position, size - position),
                                         facts_.frame_max, frame, frame_size);
        switch (status) {
            case FrameStatus::complete: {
                u64 work = catalog.routing_work();
                handle_frame(frame, chunk);
                position += frame_size;
                spent += frame_size + (catalog.routing_work() - work);
                continue;
            }
            case FrameStatus::incomplete: return position;
            case FrameStatus::too_large:
                frame_error(ReplyCode::frame_error,
                            "FRAME_ERROR - frame exceeds the negotiated frame_max " +
                                std::to_string(facts_.frame_max));
                return size;
            case FrameStatus::bad_frame_end:
                frame_error(ReplyCode::frame_error, "FRAME_ERROR - frame end octet is not 0xCE");
                return size;
            case FrameStatus::bad_type:
                frame_error(ReplyCode::frame_error,
                            "FRAME_ERROR - unknown frame type " +
                                std::to_string(static_cast<u8>(data[position])));
                return size;
        }
    }
    return position;
}

void Session::frame_error(ReplyCode code, const std::string& text) {
    connection_error(code, text, 0, 0);
    close_after_send_ = true;
}

// ---- frames ----

void Session::handle_frame(const Frame& frame, const ChunkRef& chunk) {
    if (state_ == State::closing) {
        // Only the close handshake matters now; everything else is discarded, as AMQP says.
        if (frame.type != frame_method || frame.channel != 0 || silent_close_) return;
        u32 id = peek_method(frame.payload);
        if (id == ConnectionCloseOk::id) {
            hang_up("close handshake complete");
        } else if (id == ConnectionClose::id) {
            send_method(ConnectionCloseOk{});
            close_after_send_ = true;
        }
        return;
    }
    if (frame.type == frame_heartbeat) {
        if (frame.channel != 0) {
            connection_error(
                ReplyCode::unexpected_frame,
                "UNEXPECTED_FRAME - heartbeat frame on channel " + std::to_string(frame.channel), 0,
                0);
        }
        return;
    }
    if (frame.channel == 0) {
        if (frame.type != frame_method) {
            connection_error(ReplyCode::unexpected_frame,
                             "UNEXPECTED_FRAME - content frame on channel 0", 0, 0);
            return;
        }
        handle_connection_method(frame);
        return;
    }
    if (state_ != State::open) {
        connection_error(ReplyCode::channel_error,
                         "CHANNEL_ERROR - frame on channel " + std::to_string(frame.channel) +
                             " before connection.open-ok",
                         0, 0);
        return;
    }
    if (frame.channel > channel_max_) {
        connection_error(ReplyCode::channel_error,
                         "CHANNEL_ERROR - channel " + std::to_string(frame.channel) +
                             " exceeds channel_max " + std::to_string(channel_max_),
                         0, 0);
        return;
    }
    handle_channel_frame(frame, chunk);
}

void Session::handle_channel_frame(const Frame& frame, const ChunkRef& chunk) {
    Channel* found = channel_cache_;
    if (found == nullptr || found->number() != frame.channel) {
        auto it = channels_.find(frame.channel);
        found = it == channels_.end() ? nullptr : it->second.get();
        if (found != nullptr) channel_cache_ = found;
    }
    bool is_open_method =
        frame.type == frame_method && peek_method(frame.payload) == ChannelOpen::id;
    if (found == nullptr) {
        if (!is_open_method) {
            // RabbitMQ blames the method that came on the unopened channel, if it was one.
            u32 id = frame.type == frame_method ? peek_method(frame.payload) : 0;
            connection_error(ReplyCode::channel_error, "CHANNEL_ERROR - expected 'channel.open'",
                             static_cast<u16>(id >> 16), static_cast<u16>(id & 0xFFFF));
            return;
        }
        // max-channels counts the user's channels on every shard: shard 0 decides.
        if (services_.broker.catalog().user_limits(facts_.user).max_channels) {
            request_admission(frame.channel);
            return;
        }
        open_channel(frame.channel, false);
        return;
    }
    if (is_open_method && found->state() == Channel::State::open) {
        connection_error(ReplyCode::channel_error, "CHANNEL_ERROR - second 'channel.open' seen",
                         ChannelOpen::class_id, ChannelOpen::method_id);
        return;
    }
    found->handle_frame(frame, chunk);
    after_channel_call(frame.channel);
}

void Session::after_channel_call(u16 number) {
    if (signals_.hard_error) {
        HardError error = std::move(*signals_.hard_error);
        signals_.hard_error.reset();
        connection_error(error.code, error.text, error.class_id, error.method_id);
        return;
    }
    auto it = channels_.find(number);
    if (it != channels_.end() && it->second->finished()) {
        channel_cache_ = nullptr;
        channels_.erase(it);
        if (channels_counted_ > 0) {
            channels_counted_--;
            send_count_change(0, -1);
        }
    }
}

// ---- after input, around sends ----

bool Session::awaits_acks() const {
    for (const auto& [number, ch] : channels_) {
        if (ch->awaits_acks()) return true;
    }
    return false;
}

void Session::flush_confirms() {
    for (auto& [number, ch] : channels_) ch->flush_confirms();
}

Session::Published Session::after_input() {
    flush_confirms();
    Published published;
    if (!signals_.published) return published;
    published.any = true;
    signals_.published = false;
    // A connection that consumes with acks as well must go on reading its acks, or the queue
    // it waits for might be one only those acks can drain (limits.h explains).
    if (signals_.pressured && !awaits_acks()) published.pressured = signals_.pressured;
    signals_.pressured.reset();
    return published;
}

void Session::send_due_confirms() {
    confirms_due_ = false;
    flush_confirms();
}

void Session::send_credits() {
    signals_.credit_owed = false;
    for (auto& [number, ch] : channels_) ch->send_credits();
}

void Session::send_blocked(std::string_view reason) {
    if (!connection_blocked_capable_ || blocked_sent_ || state_ != State::open) return;
    ConnectionBlocked blocked;
    blocked.reason = reason;
    send_method(blocked);
    blocked_sent_ = true;
}

void Session::send_unblocked() {
    if (blocked_sent_ && state_ == State::open) send_method(ConnectionUnblocked{});
    blocked_sent_ = false;
}

// ---- timers ----

void Session::tick(bool reading_paused) {
    u64 now = services_.now_ms;
    if (state_ == State::closed) return;
    if (carry_size_ > 0 && now - carry_started_ms_ > limits::incomplete_frame_timeout_ms &&
        !close_after_send_) {
        LEPUS_LOG(warning, "closing connection %s: a frame begun %llu ms ago is incomplete",
                  facts_.peer_name.c_str(),
                  static_cast<unsigned long long>(now - carry_started_ms_));
        drop_carry();
        frame_error(ReplyCode::frame_error,
                    "FRAME_ERROR - frame incomplete after " +
                        std::to_string(limits::incomplete_frame_timeout_ms) + " ms");
        return;
    }
    if (state_ == State::closing) {
        if (silent_close_ && now - closing_since_ms_ > limits::handshake_error_close_delay_ms) {
            hang_up("handshake failed");
        } else if (now - closing_since_ms_ > limits::close_handshake_timeout_ms) {
            hang_up("close handshake timed out");
        }
        return;
    }
    if (state_ != State::open) {
        if (now - opened_ms_ > services_.settings.handshake_timeout_ms) {
            LEPUS_LOG(warning, "closing connection %s: handshake timeout",
                      facts_.peer_name.c_str());
            hang_up("handshake timeout");
        }
        return;
    }
    if (heartbeat_s_ == 0) return;
    u64 interval_ms = u64{heartbeat_s_} * 1000;
    // Paused for back-pressure, the client's bytes (its heartbeats too) wait unread: its
    // silence is ours. Ours still go out, or the client would take the broker for dead.
    if (!reading_paused && now - last_received_ms_ > 2 * interval_ms) {
        LEPUS_LOG(warning, "closing connection %s: missed heartbeats from client, timeout: %us",
                  facts_.peer_name.c_str(), heartbeat_s_);
        hang_up("missed heartbeats");
        return;
    }
    if (now - last_sent_ms_ >= interval_ms / 2) {
        write_heartbeat_frame(host_.out().writer());
        last_sent_ms_ = now;
        request_flush();
    }
}

// ---- messages from other shards ----

Channel* Session::channel(u16 number, u32 generation) {
    Channel* found = channel_cache_;
    if (found == nullptr || found->number() != number) {
        auto it = channels_.find(number);
        if (it == channels_.end()) return nullptr;
        found = channel_cache_ = it->second.get();
    }
    return found->generation() == generation ? found : nullptr;
}

void Session::on_message(core::ShardMessage message, const core::ChannelKey& key) {
    if (auto* admission = std::get_if<std::unique_ptr<core::AdmissionReply>>(&message)) {
        if (awaiting_admission_ && takes_input_but_for_admission()) {
            on_admission(**admission);
        } else {
            bounce(message, services_.outbox);  // gave it back its place in the counts
        }
        return;
    }
    // Only an open channel of an open connection takes a message; for any other the
    // conversation is settled here, so nothing is stranded and no consumer is left behind.
    Channel* ch = state_ == State::open ? channel(key.channel, key.generation) : nullptr;
    if (ch == nullptr || !ch->takes_messages()) {
        bounce(message, services_.outbox);
        return;
    }
    u16 number = key.channel;
    if (std::holds_alternative<core::Persisted>(message)) {
        // Many arrive per loop turn: their confirms go out together, at this turn's send.
        ch->on_message(message);
        confirms_due_ = true;
        request_flush();
        return;
    }
    ch->on_message(message);
    after_channel_call(number);
    if (state_ == State::open) flush_confirms();
}

// ---- the end ----

void Session::connection_error(ReplyCode code, const std::string& text, u16 class_id,
                               u16 method_id) {
    if (state_ == State::closing || state_ == State::closed) return;
    LEPUS_LOG(warning, "closing AMQP connection %s (vhost '%s', user '%s'): %s",
              facts_.peer_name.c_str(), facts_.vhost.c_str(), facts_.user.c_str(), text.c_str());
    note_close_cause(CloseCause::Kind::broker_close, static_cast<u16>(code), text);
    release_channels();
    send_method(close_method<ConnectionClose>(code, text, class_id, method_id));
    enter_closing();
}

void Session::enter_closing() {
    state_ = State::closing;
    closing_since_ms_ = services_.now_ms;
}

void Session::force_close(const std::string& reason) {
    if (state_ == State::open) {
        connection_error(
            ReplyCode::connection_forced,
            "CONNECTION_FORCED - broker forced connection closure with reason '" + reason + "'", 0,
            0);
    } else if (state_ != State::closing) {
        hang_up(reason.c_str());
    }
}

bool Session::close_if_affected(const core::ConnectionClosure& closure) {
    if (state_ != State::open) return false;
    const std::string& name =
        closure.kind == core::ConnectionClosure::Kind::vhost ? facts_.vhost : facts_.user;
    if (name != closure.name) return false;
    LEPUS_LOG(info, "closing connection %s: %s", facts_.peer_name.c_str(), closure.text.c_str());
    connection_error(ReplyCode::connection_forced, "CONNECTION_FORCED - " + closure.text, 0, 0);
    return true;
}

void Session::release_channels() {
    for (auto& [number, ch] : channels_) ch->release();
    if (signals_.exclusive_queue_declared) {
        signals_.exclusive_queue_declared = false;
        auto request = std::make_unique<core::MetaRequest>();
        request->vhost = facts_.vhost;
        request->requester.connection = facts_.key;
        request->reply_wanted = core::ReplyWanted::no;
        request->op = core::ConnectionClosedOp{};
        services_.outbox.send(ShardId(0), std::move(request));
    }
}

void Session::uncount() {
    if (channels_counted_ == 0 && !connection_counted_) return;
    send_count_change(connection_counted_ ? -1 : 0, -static_cast<i64>(channels_counted_));
    channels_counted_ = 0;
    connection_counted_ = false;
}

void Session::send_count_change(i32 connections, i64 channels) {
    services_.outbox.send(
        ShardId(0), std::make_unique<core::AccessCountChange>(
                        core::AccessCountChange{facts_.vhost, facts_.user, connections, channels}));
}

void Session::open_channel(u16 number, bool counted) {
    channels_counted_++;
    if (!counted) send_count_change(0, 1);
    ChannelLink link{services_, host_, host_.out(), facts_, signals_};
    channels_.emplace(number, std::make_unique<Channel>(link, number, ++channel_generations_));
    write_method_frame(host_.out().writer(), number, ChannelOpenOk{});
    request_flush();
}

void Session::request_admission(u16 channel) {
    // Nothing more is handled until shard 0 answers: what follows the open must see its outcome.
    awaiting_admission_ = true;
    services_.outbox.send(ShardId(0),
                          std::make_unique<core::AdmissionRequest>(core::AdmissionRequest{
                              core::ChannelKey{key(), channel, 0}, facts_.vhost, facts_.user}));
}

void Session::on_admission(core::AdmissionReply& reply) {
    awaiting_admission_ = false;
    const u16 channel = reply.to.channel;
    if (reply.refusal) {
        if (channel == 0) {
            refuse_open(*reply.refusal);
        } else {
            // RabbitMQ closes the whole connection for a channel over the user's limit.
            connection_error(static_cast<ReplyCode>(reply.refusal->reply_code), reply.refusal->text,
                             ChannelOpen::class_id, ChannelOpen::method_id);
        }
    } else if (channel == 0) {
        admit_connection(true);
    } else {
        open_channel(channel, true);
    }
    host_.resume_input();
}

void Session::end(const char* reason) {
    if (state_ == State::closed) return;
    if (log::enabled(log::Level::info)) {
        log_connection_event(closed_fields(identity(), close_cause_, reason, heartbeat_s_));
    }
    uncount();
    release_channels();
    state_ = State::closed;
    drop_carry();
}

void Session::hang_up(const char* reason) {
    end(reason);
    host_.hang_up(reason);
}

}  // namespace lepus::session
