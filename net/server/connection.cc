#include "net/server/connection.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "core/wire/field_table.h"
#include "net/server/bounce.h"
#include "net/server/channel.h"
#include "net/server/server_properties.h"

namespace lepus::server {

using namespace lepus::amqp;

namespace {

std::string format_peer(const sockaddr_storage& peer, bool& loopback) {
    char host[INET6_ADDRSTRLEN] = "?";
    u16 port = 0;
    loopback = false;
    if (peer.ss_family == AF_INET) {
        const auto& a = reinterpret_cast<const sockaddr_in&>(peer);
        inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
        port = ntohs(a.sin_port);
        loopback = (ntohl(a.sin_addr.s_addr) >> 24) == 127;
    } else if (peer.ss_family == AF_INET6) {
        const auto& a = reinterpret_cast<const sockaddr_in6&>(peer);
        inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof host);
        port = ntohs(a.sin6_port);
        loopback = IN6_IS_ADDR_LOOPBACK(&a.sin6_addr) ||
                   (IN6_IS_ADDR_V4MAPPED(&a.sin6_addr) && a.sin6_addr.s6_addr[12] == 127);
    }
    return std::string(host) + ":" + std::to_string(port);
}

// The class and method ids at the start of a method frame's payload, without decoding it.
u32 peek_method(std::string_view payload) {
    if (payload.size() < 4) return 0;
    auto b = [&](usize i) { return static_cast<u32>(static_cast<u8>(payload[i])); };
    return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

}  // namespace

Connection::Connection(ShardContext& context, int fd, u32 slot, u32 generation,
                       const sockaddr_storage& peer)
    : context_(context), fd_(fd), peer_(peer) {
    key_.shard = context.shard;
    key_.slot = slot;
    key_.generation = generation;
    peer_name_ = format_peer(peer, peer_is_loopback_);
    recv_completion_.callback = &Connection::on_recv;
    recv_completion_.owner = this;
    send_completion_.callback = &Connection::on_send;
    send_completion_.owner = this;
}

Connection::~Connection() {
    LEPUS_ASSERT(!recv_completion_.in_flight && !send_completion_.in_flight);
    drop_carry();
    channels_.clear();
    if (fd_ >= 0) ::close(fd_);
}

void Connection::start() {
    opened_ms_ = last_received_ms_ = last_sent_ms_ = context_.now_ms;
    LEPUS_LOG(info, "accepting AMQP connection from %s", peer_name_.c_str());
    arm_recv();
}

void Connection::arm_recv() {
    io_uring_sqe* sqe = context_.ring.prepare(recv_completion_);
    io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = context_.buffers.group_id();
}

void Connection::on_recv(io::Completion& completion, i32 result, u32 flags) {
    auto& self = *static_cast<Connection*>(completion.owner);
    if (result > 0) {
        LEPUS_ASSERT(flags & IORING_CQE_F_BUFFER);
        auto bid = static_cast<u16>(flags >> IORING_CQE_BUFFER_SHIFT);
        ChunkRef chunk = ChunkRef::adopt(self.context_.buffers.take(bid));
        if (static_cast<u32>(result) <= limits::recv_compact_max) {
            // See limits::recv_compact_max: the ring's buffer returns to the pool here.
            Chunk* fitted = Chunk::allocate(static_cast<u32>(result));
            std::memcpy(fitted->data(), chunk.get()->data(), static_cast<usize>(result));
            chunk = ChunkRef::adopt(fitted);
        }
        if (self.state_ != State::closed) self.receive(std::move(chunk), static_cast<u32>(result));
    } else if (result == -ECANCELED) {
        // Our own cancel, for back-pressure. Paused: resume_reading() arms it again. Resumed
        // before the cancel completed (resume could not arm a receive still in flight): the
        // receive is armed again below, so no byte waits unread.
        if (self.recv_paused_) return;
    } else if (self.state_ != State::closed) {
        if (result == 0) {
            // What the peer sent before closing is handled first (a close among it makes
            // this a clean end), then the connection ends.
            self.peer_gone_ = true;
            if (self.inbox_.empty()) self.end_after_peer_closed();
            return;
        }
        if (result != -ENOBUFS) {
            LEPUS_LOG(warning, "receive from %s failed: %s", self.peer_name_.c_str(),
                      std::strerror(-result));
            self.terminate("socket error");
            return;
        }
        // -ENOBUFS: every provided buffer was taken in one burst; they were refilled as each
        // completion was handled, so receiving again is safe.
    }
    if (!(flags & IORING_CQE_F_MORE) && self.state_ != State::closed && !self.recv_paused_) {
        self.arm_recv();
    }
}

void Connection::stop_reading() {
    if (recv_paused_ || state_ == State::closed) return;
    recv_paused_ = true;
    if (recv_completion_.in_flight) {
        io_uring_sqe* sqe = context_.ring.prepare_untracked();
        io_uring_prep_cancel(sqe, &recv_completion_, 0);
    }
}

void Connection::restart_reading() {
    if (!recv_paused_ || inbox_full_ || held_for_publishing_ || send_backlogged_ || silent_close_ ||
        peer_gone_ || state_ == State::closed)
        return;
    recv_paused_ = false;
    // Time spent paused is the broker's doing, not a silent peer's.
    last_received_ms_ = context_.now_ms;
    if (!recv_completion_.in_flight) arm_recv();
}

void Connection::end_after_peer_closed() {
    if (state_ == State::open) {
        LEPUS_LOG(warning, "client %s closed TCP connection unexpectedly", peer_name_.c_str());
    }
    terminate("peer closed the socket");
}

void Connection::pause_reading() {
    if (state_ == State::closed) return;
    if (!paused_listed_) {
        paused_listed_ = true;
        paused_for_ = pressured_queue_;
        context_.paused.push_back(this);
    }
    stop_reading();
}

bool Connection::may_resume() const {
    if (send_backlogged_ || silent_close_) return false;
    // The throttle, the alarm and queue pressure hold only a connection that publishes.
    if (!held_for_publishing_) return true;
    if (context_.throttled || context_.broker.memory_alarm()) return false;
    return !paused_for_ || !context_.broker.pressured(*paused_for_);
}

void Connection::send_blocked() {
    if (!connection_blocked_capable_ || blocked_sent_ || state_ != State::open) return;
    ConnectionBlocked blocked;
    blocked.reason = "low on memory";  // RabbitMQ's reason for its memory alarm
    write_method_frame(out_.writer(), 0, blocked);
    request_flush();
    blocked_sent_ = true;
}

void Connection::resume_reading() {
    paused_listed_ = false;
    held_for_publishing_ = false;
    paused_for_.reset();
    if (blocked_sent_ && state_ == State::open) {
        write_method_frame(out_.writer(), 0, ConnectionUnblocked{});
        request_flush();
    }
    blocked_sent_ = false;
    // What was received is handled again; the socket is read again unless the inbox is still
    // full (serve_input restarts it once that has drained).
    if (!inbox_.empty()) enlist_for_input();
    restart_reading();
}

bool Connection::take_protocol_header(const char*& data, usize& size) {
    usize need = protocol_header.size() - header_bytes_.size();
    usize n = std::min(need, size);
    header_bytes_.append(data, n);
    data += n;
    size -= n;
    if (header_bytes_.size() < protocol_header.size()) return false;
    if (header_bytes_ != protocol_header) {
        LEPUS_LOG(warning, "%s sent an unsupported protocol header; replying with ours",
                  peer_name_.c_str());
        out_.writer().write_bytes(protocol_header);
        close_after_send_ = true;
        state_ = State::closing;
        closing_since_ms_ = context_.now_ms;
        request_flush();
        return false;
    }
    state_ = State::start_ok;
    send_start();
    return true;
}

void Connection::receive(ChunkRef chunk, u32 size) {
    last_received_ms_ = context_.now_ms;
    // Bounded by the memory the receives hold, whole buffers, however little each carries.
    u64 held = chunk.get()->capacity;
    inbox_.push_back(Received{std::move(chunk), 0, size});
    inbox_bytes_ += held;
    context_.inbox_bytes += held;
    if (!input_held()) enlist_for_input();
    if (!inbox_full_ && inbox_bytes_ > limits::connection_inbox_high) {
        inbox_full_ = true;
        stop_reading();
    }
}

void Connection::enlist_for_input() {
    if (input_enlisted_ || state_ == State::closed) return;
    input_enlisted_ = true;
    context_.input_turns.enlist(key_.slot, key_.generation);
}

bool Connection::input_held() const {
    // Publishers held by back-pressure handle nothing more until it ends, not only read
    // nothing more: what they sent already would otherwise still reach the queues.
    return held_for_publishing_ || send_backlogged_ || silent_close_ || close_after_send_ ||
           state_ == State::closed;
}

bool Connection::wants_input_turn() const { return !inbox_.empty() && !input_held(); }

u64 Connection::serve_input(u64 budget) {
    input_enlisted_ = false;
    u64 spent = 0;
    while (spent < budget && wants_input_turn()) {
        Received& next = inbox_.front();
        u32 used =
            static_cast<u32>(handle_received(next.chunk.get()->data() + next.offset,
                                             next.size - next.offset, next.chunk, budget, spent));
        if (state_ == State::closed) return spent;  // terminate() has emptied the inbox
        LEPUS_ASSERT(used > 0 || input_held());
        next.offset += used;
        if (next.offset == next.size) {
            inbox_bytes_ -= next.chunk.get()->capacity;
            context_.inbox_bytes -= next.chunk.get()->capacity;
            inbox_.pop_front();
        }
    }
    if (state_ == State::closed) return spent;
    after_input();
    if (peer_gone_ && inbox_.empty()) {
        end_after_peer_closed();
        return spent;
    }
    if (inbox_full_ && inbox_bytes_ < limits::connection_inbox_low) {
        inbox_full_ = false;
        restart_reading();
    }
    if (wants_input_turn()) enlist_for_input();
    return spent;
}

usize Connection::handle_received(const char* data, usize size, const ChunkRef& chunk, u64 budget,
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
    if (close_after_send_) return size;  // framing is broken; only the close goes out
    if (carry_size_ > 0) {
        carry_bytes(data, left);
        if (carry_needed_ == 0 || carry_size_ < carry_needed_) {
            spent += used();
            return state_ == State::closed || close_after_send_ ? size : used();
        }
        ChunkRef carried = carry_;  // the frame is whole: no longer incomplete
        u32 carried_size = carry_size_;
        drop_carry();
        u64 carried_spent = 0;
        usize parsed = parse_frames(carried.get()->data(), carried_size, carried,
                                    std::numeric_limits<u64>::max(), carried_spent);
        LEPUS_ASSERT(parsed == carried_size || state_ == State::closed || close_after_send_);
        spent += used() + (carried_spent - carried_size);  // the routing work it caused
    }
    if (left > 0 && state_ != State::closed && !close_after_send_ && spent < budget) {
        usize parsed = parse_frames(data, left, chunk, budget, spent);
        data += parsed;
        left -= parsed;
        // Stopped short of the budget with bytes left: they begin a frame still incomplete.
        if (left > 0 && spent < budget && state_ != State::closed && !close_after_send_) {
            carry_bytes(data, left);
            spent += left;
            data += left;
            left = 0;
        }
    }
    if (state_ == State::closed || close_after_send_) return size;
    return used();
}

bool Connection::awaits_acks() const {
    for (const auto& [number, ch] : channels_) {
        if (ch->awaits_acks()) return true;
    }
    return false;
}

void Connection::after_input() {
    for (auto& [number, ch] : channels_) ch->flush_confirms();
    if (published_) {
        published_ = false;
        bool alarm = context_.broker.memory_alarm();
        // A connection that consumes with acks as well must go on reading its acks, or the
        // queue it waits for might be one only those acks can drain (limits.h explains).
        if (pressured_queue_ && awaits_acks()) pressured_queue_.reset();
        if (context_.throttled || pressured_queue_ || alarm) {
            held_for_publishing_ = true;
            pause_reading();
        }
        if (alarm) send_blocked();
        pressured_queue_.reset();
    }
    note_send_backlog();
}

void Connection::note_send_backlog() {
    if (send_backlogged_ || send_backlog() <= limits::connection_send_backlog_high) return;
    LEPUS_LOG(debug, "connection %s: %zu bytes wait to be sent; reading paused until it reads",
              peer_name_.c_str(), send_backlog());
    send_backlogged_ = true;
    pause_reading();
}

void Connection::ease_send_backlog() {
    if (!send_backlogged_ || send_backlog() >= limits::connection_send_backlog_low) return;
    send_backlogged_ = false;
    if (!paused_listed_ || !may_resume()) return;  // still held for another reason
    leave_paused_list();
    resume_reading();
}

void Connection::leave_paused_list() {
    paused_listed_ = false;
    auto& paused = context_.paused;
    paused.erase(std::remove(paused.begin(), paused.end(), this), paused.end());
}

bool Connection::send_stuck() const {
    return send_backlogged_ && send_completion_.in_flight &&
           context_.now_ms - send_progress_ms_ > context_.options.send_timeout_ms;
}

void Connection::carry_bytes(const char*& data, usize& size) {
    if (!carry_) {
        carry_started_ms_ = context_.now_ms;
        context_.incomplete_frame_holders.push_back(this);
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
            if (state_ == State::closed || close_after_send_) return;  // evicted itself
            Chunk* bigger = Chunk::allocate(capacity);
            if (carry_size_ > 0) std::memcpy(bigger->data(), carry_.get()->data(), carry_size_);
            if (carry_) context_.incomplete_frame_bytes -= carry_.get()->capacity;
            context_.incomplete_frame_bytes += capacity;
            carry_ = ChunkRef::adopt(bigger);
        }
        std::memcpy(carry_.get()->data() + carry_size_, data, n);
        carry_size_ += static_cast<u32>(n);
        data += n;
        size -= n;
        if (carry_needed_ == 0 && carry_size_ >= frame_header_size) {
            const auto* h = reinterpret_cast<const u8*>(carry_.get()->data());
            u32 payload = (u32{h[3]} << 24) | (u32{h[4]} << 16) | (u32{h[5]} << 8) | h[6];
            if (u64{payload} + frame_overhead > frame_max_) {
                frame_error(ReplyCode::frame_error,
                            "FRAME_ERROR - frame of " + std::to_string(payload) +
                                " bytes exceeds frame_max " + std::to_string(frame_max_));
                return;
            }
            carry_needed_ = payload + static_cast<u32>(frame_overhead);
            continue;  // take the rest of it
        }
        return;
    }
}

void Connection::evict_incomplete_frame() {
    LEPUS_LOG(warning,
              "closing connection %s: incomplete frames on this shard hold more than %llu MiB, "
              "and its frame (begun %llu ms ago) is the oldest",
              peer_name_.c_str(),
              static_cast<unsigned long long>(limits::shard_incomplete_frame_bytes_max >> 20),
              static_cast<unsigned long long>(context_.now_ms - carry_started_ms_));
    drop_carry();
    frame_error(ReplyCode::resource_error,
                "RESOURCE_ERROR - incomplete frames exceed the broker's limit");
}

void Connection::drop_carry() {
    if (carry_) {
        context_.incomplete_frame_bytes -= carry_.get()->capacity;
        auto& holders = context_.incomplete_frame_holders;
        holders.erase(std::remove(holders.begin(), holders.end(), this), holders.end());
    }
    carry_.reset();
    carry_size_ = carry_needed_ = 0;
}

void Connection::make_room_for_incomplete_frame(u64 bytes) {
    u64 held = carry_ ? carry_.get()->capacity : 0;  // given back when the bigger one comes
    if (context_.incomplete_frame_bytes - held + bytes <= limits::shard_incomplete_frame_bytes_max)
        return;
    std::vector<Connection*> oldest_first = context_.incomplete_frame_holders;
    std::stable_sort(oldest_first.begin(), oldest_first.end(), [](Connection* a, Connection* b) {
        return a->carry_started_ms_ < b->carry_started_ms_;
    });
    for (Connection* holder : oldest_first) {
        held = carry_ ? carry_.get()->capacity : 0;
        if (context_.incomplete_frame_bytes - held + bytes <=
            limits::shard_incomplete_frame_bytes_max)
            return;
        holder->evict_incomplete_frame();
        if (holder == this) return;
    }
}

usize Connection::parse_frames(const char* data, usize size, const ChunkRef& chunk, u64 budget,
                               u64& spent) {
    usize position = 0;
    const core::Catalog& catalog = context_.broker.catalog();
    while (position < size && state_ != State::closed && !close_after_send_ && spent < budget) {
        Frame frame;
        usize frame_size = 0;
        FrameStatus status = parse_frame(std::string_view(data + position, size - position),
                                         frame_max_, frame, frame_size);
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
                                std::to_string(frame_max_));
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

void Connection::frame_error(ReplyCode code, const std::string& text) {
    // After a framing error the byte stream cannot be trusted: send the close, then hang up
    // without waiting for close-ok.
    connection_error(code, text, 0, 0);
    close_after_send_ = true;
}

void Connection::handle_frame(const Frame& frame, const ChunkRef& chunk) {
    if (state_ == State::closing) {
        // Only the close handshake matters now; everything else is discarded, as AMQP says.
        if (frame.type != frame_method || frame.channel != 0 || silent_close_) return;
        u32 id = peek_method(frame.payload);
        if (id == ConnectionCloseOk::id) {
            terminate("close handshake complete");
        } else if (id == ConnectionClose::id) {
            write_method_frame(out_.writer(), 0, ConnectionCloseOk{});
            close_after_send_ = true;
            request_flush();
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
        auto ch = std::make_unique<Channel>(*this, frame.channel, ++channel_generations_);
        channels_.emplace(frame.channel, std::move(ch));
        write_method_frame(out_.writer(), frame.channel, ChannelOpenOk{});
        request_flush();
        return;
    }
    Channel& ch = *found;
    if (is_open_method && ch.state() == Channel::State::open) {
        connection_error(ReplyCode::channel_error, "CHANNEL_ERROR - second 'channel.open' seen",
                         ChannelOpen::class_id, ChannelOpen::method_id);
        return;
    }
    ch.handle_frame(frame, chunk);
    // A channel whose close handshake finished is gone; the number may be opened again.
    // (Handling a frame never erases a channel, so `ch` is still there.)
    if (ch.finished()) {
        channel_cache_ = nullptr;
        channels_.erase(frame.channel);
    }
}

void Connection::handle_connection_method(const Frame& frame) {
    Method method;
    u16 class_id = 0;
    u16 method_id = 0;
    DecodeStatus status = decode_method(frame.payload, method, class_id, method_id);
    if (status != DecodeStatus::ok) {
        connection_error(
            status == DecodeStatus::unknown_method ? ReplyCode::not_implemented
                                                   : ReplyCode::syntax_error,
            status == DecodeStatus::unknown_method
                ? "NOT_IMPLEMENTED - unknown method " + std::to_string(class_id) + "." +
                      std::to_string(method_id)
                : "SYNTAX_ERROR - malformed " + std::string(method_name(class_id, method_id)),
            class_id, method_id);
        return;
    }
    // A handshake method out of its turn, with RabbitMQ's text: before connection.open-ok the
    // connection is dropped as handshake_failed does; after it, 504 closes it.
    auto expect = [&](State wanted) {
        if (state_ == wanted) return true;
        std::string text =
            std::string("unexpected method in connection state ") + handshake_state_name();
        if (state_ == State::open) {
            connection_error(ReplyCode::channel_error, "CHANNEL_ERROR - " + text, class_id,
                             method_id);
        } else {
            handshake_failed(text + " (" + std::string(method_name(class_id, method_id)) + ")");
        }
        return false;
    };
    if (auto* m = std::get_if<ConnectionStartOk>(&method)) {
        if (expect(State::start_ok)) handle_start_ok(*m);
    } else if (auto* tune = std::get_if<ConnectionTuneOk>(&method)) {
        if (expect(State::tune_ok)) handle_tune_ok(*tune);
    } else if (auto* open = std::get_if<ConnectionOpen>(&method)) {
        if (expect(State::open_wait)) handle_open(*open);
    } else if (std::holds_alternative<ConnectionClose>(method)) {
        LEPUS_LOG(info, "closing AMQP connection %s (client %s, vhost '%s', user '%s')",
                  peer_name_.c_str(), client_name_.c_str(), vhost_.c_str(), user_.c_str());
        // Closing from here on: replies still on their way from other shards find no open
        // connection and are bounced (bounce.h), so what they carry goes back to its queue.
        release_channels();
        state_ = State::closing;
        closing_since_ms_ = context_.now_ms;
        write_method_frame(out_.writer(), 0, ConnectionCloseOk{});
        close_after_send_ = true;
        request_flush();
    } else if (std::holds_alternative<ConnectionUpdateSecret>(method) && state_ == State::open) {
        write_method_frame(out_.writer(), 0, ConnectionUpdateSecretOk{});
        request_flush();
    } else if (std::holds_alternative<ConnectionBlocked>(method) ||
               std::holds_alternative<ConnectionUnblocked>(method)) {
        // Clients do not send these; tolerated as RabbitMQ does.
    } else {
        connection_error(ReplyCode::command_invalid,
                         "COMMAND_INVALID - unexpected method '" +
                             std::string(method_name(class_id, method_id)) + "' on channel 0",
                         class_id, method_id);
    }
}

void Connection::send_start() {
    ConnectionStart start;
    std::string properties = server_properties_table();
    start.server_properties = properties;
    start.mechanisms = "PLAIN AMQPLAIN";
    start.locales = "en_US";
    write_method_frame(out_.writer(), 0, start);
    request_flush();
}

bool Connection::authenticate(std::string_view mechanism, std::string_view response) {
    std::string_view user;
    std::string_view password;
    wire::FieldTable table;  // AMQPLAIN's credentials; user and password point into it
    if (mechanism == "PLAIN") {
        // authzid NUL authcid NUL password
        usize first = response.find('\0');
        usize second = first == std::string_view::npos ? first : response.find('\0', first + 1);
        if (second == std::string_view::npos) return false;
        user = response.substr(first + 1, second - first - 1);
        password = response.substr(second + 1);
    } else if (mechanism == "AMQPLAIN") {
        if (!wire::decode_field_table(response, table)) return false;
        const wire::FieldValue* login = wire::find_field(table, "LOGIN");
        const wire::FieldValue* pass = wire::find_field(table, "PASSWORD");
        if (login == nullptr || pass == nullptr || !login->as_string() || !pass->as_string())
            return false;
        user = *login->as_string();
        password = *pass->as_string();
    } else {
        return false;
    }
    user_ = std::string(user);
    const Options& o = context_.options;
    if (user != o.default_user || password != o.default_password) return false;
    if (o.loopback_users_only && !peer_is_loopback_) {
        LEPUS_LOG(warning, "user '%s' may only connect from loopback; %s refused", user_.c_str(),
                  peer_name_.c_str());
        return false;
    }
    return true;
}

void Connection::handle_start_ok(const ConnectionStartOk& m) {
    wire::FieldTable client;
    if (wire::decode_field_table(m.client_properties, client)) {
        if (const wire::FieldValue* name = wire::find_field(client, "connection_name")) {
            if (auto s = name->as_string()) client_name_ = std::string(*s);
        }
        if (client_name_.empty()) {
            if (const wire::FieldValue* product = wire::find_field(client, "product")) {
                if (auto s = product->as_string()) client_name_ = std::string(*s);
            }
        }
        if (const wire::FieldValue* caps = wire::find_field(client, "capabilities")) {
            if (const auto* table = std::get_if<wire::FieldTable>(&caps->value)) {
                if (const wire::FieldValue* v = wire::find_field(*table, "consumer_cancel_notify"))
                    consumer_cancel_notify_ = v->as_bool().value_or(false);
                if (const wire::FieldValue* v = wire::find_field(*table, "connection.blocked"))
                    connection_blocked_capable_ = v->as_bool().value_or(false);
            }
        }
    }
    if (!authenticate(m.mechanism, m.response)) {
        LEPUS_LOG(warning, "%s: login refused for user '%s' (mechanism %.*s)", peer_name_.c_str(),
                  user_.c_str(), static_cast<int>(m.mechanism.size()), m.mechanism.data());
        connection_error(ReplyCode::access_refused,
                         "ACCESS_REFUSED - Login was refused using authentication mechanism " +
                             std::string(m.mechanism) + ". For details see the broker logfile.",
                         0, 0);
        close_after_send_ = true;
        return;
    }
    ConnectionTune tune;
    tune.channel_max = context_.options.channel_max;
    tune.frame_max = context_.options.frame_max;
    tune.heartbeat = static_cast<u16>(context_.options.heartbeat_s);
    write_method_frame(out_.writer(), 0, tune);
    request_flush();
    state_ = State::tune_ok;
}

void Connection::handle_tune_ok(const ConnectionTuneOk& m) {
    // As RabbitMQ 3.10 negotiates: 0 means "no limit", which is more than the server allows,
    // so a client must name a value within the server's.
    auto refuse = [&](const char* field, u32 value, const char* detail, bool too_low, u32 bound) {
        handshake_failed(std::string("failed to negotiate connection parameters: negotiated ") +
                         field + " = " + std::to_string(value) + detail + " is " +
                         (too_low ? "lower than the minimum" : "higher than the maximum") +
                         " allowed value (" + std::to_string(bound) + ")");
    };
    u32 server_frame_max = context_.options.frame_max;
    if (m.frame_max != 0 && m.frame_max < frame_min_size) {
        refuse("frame_max", m.frame_max, "", true, frame_min_size);
        return;
    }
    if (m.frame_max == 0 || m.frame_max > server_frame_max) {
        refuse("frame_max", m.frame_max, "", false, server_frame_max);
        return;
    }
    u16 server_channel_max = context_.options.channel_max;
    if (m.channel_max == 0 || m.channel_max > server_channel_max) {
        refuse("channel_max", m.channel_max, m.channel_max == 0 ? " (no limit)" : "", false,
               server_channel_max);
        return;
    }
    frame_max_ = m.frame_max;
    channel_max_ = m.channel_max;
    heartbeat_s_ = m.heartbeat;
    state_ = State::open_wait;
}

void Connection::handle_open(const ConnectionOpen& m) {
    vhost_entry_ = context_.broker.catalog().find_vhost(m.virtual_host);
    if (vhost_entry_ == nullptr) {
        LEPUS_LOG(warning, "%s: vhost '%.*s' not found", peer_name_.c_str(),
                  static_cast<int>(m.virtual_host.size()), m.virtual_host.data());
        connection_error(ReplyCode::not_allowed,
                         "NOT_ALLOWED - vhost " + std::string(m.virtual_host) + " not found",
                         ConnectionOpen::class_id, ConnectionOpen::method_id);
        return;
    }
    vhost_ = std::string(m.virtual_host);
    state_ = State::open;
    write_method_frame(out_.writer(), 0, ConnectionOpenOk{});
    request_flush();
    LEPUS_LOG(info, "connection %s (%s): user '%s' authenticated and granted access to vhost '%s'",
              peer_name_.c_str(), client_name_.c_str(), user_.c_str(), vhost_.c_str());
}

void Connection::connection_error(ReplyCode code, const std::string& text, u16 class_id,
                                  u16 method_id) {
    if (state_ == State::closing || state_ == State::closed) return;
    LEPUS_LOG(warning, "closing AMQP connection %s (vhost '%s', user '%s'): %s", peer_name_.c_str(),
              vhost_.c_str(), user_.c_str(), text.c_str());
    release_channels();
    ConnectionClose close;
    close.reply_code = wire_code(code);
    std::string reply_text = text.size() > 255 ? text.substr(0, 255) : text;
    close.reply_text = reply_text;
    close.failing_class_id = class_id;
    close.failing_method_id = method_id;
    write_method_frame(out_.writer(), 0, close);
    request_flush();
    state_ = State::closing;
    closing_since_ms_ = context_.now_ms;
}

const char* Connection::handshake_state_name() const {
    switch (state_) {  // RabbitMQ's names, as its error texts give them
        case State::protocol_header:
        case State::start_ok: return "starting";
        case State::tune_ok: return "tuning";
        case State::open_wait: return "opening";
        case State::open: return "running";
        case State::closing:
        case State::closed: return "closing";
    }
    return "?";
}

void Connection::handshake_failed(const std::string& text) {
    if (state_ == State::closing || state_ == State::closed) return;
    // As RabbitMQ: a peer that breaks the handshake gets no reply, only a closed socket after
    // a delay, so that it cannot make the broker do work at the rate it reconnects.
    LEPUS_LOG(error, "closing AMQP connection %s: %s", peer_name_.c_str(), text.c_str());
    state_ = State::closing;
    closing_since_ms_ = context_.now_ms;
    silent_close_ = true;
    pause_reading();
}

void Connection::force_close(const std::string& reason) {
    if (state_ == State::open) {
        connection_error(
            ReplyCode::connection_forced,
            "CONNECTION_FORCED - broker forced connection closure with reason '" + reason + "'", 0,
            0);
    } else if (state_ != State::closing) {
        terminate(reason.c_str());
    }
}

void Connection::release_channels() {
    for (auto& [number, ch] : channels_) ch->release();
    if (has_exclusive_queues_) {
        has_exclusive_queues_ = false;
        auto request = std::make_unique<core::MetaRequest>();
        request->vhost = vhost_;
        request->requester.connection = key_;
        request->reply_wanted = core::ReplyWanted::no;
        request->op = core::ConnectionClosedOp{};
        context_.outbox.send(ShardId(0), std::move(request));
    }
}

void Connection::terminate(const char* reason) {
    if (state_ == State::closed) return;
    LEPUS_LOG(debug, "connection %s closed: %s", peer_name_.c_str(), reason);
    release_channels();
    state_ = State::closed;
    drop_carry();
    inbox_.clear();  // a turn still in line finds it closed, or its slot freed or reused
    context_.inbox_bytes -= inbox_bytes_;
    inbox_bytes_ = 0;
    inbox_full_ = false;
    if (paused_listed_) leave_paused_list();
    recv_paused_ = false;
    context_.terminated_slots.push_back(key_.slot);
    // Shutting the socket down completes the in-flight receive and send; done() then lets the
    // shard free the slot and close the descriptor.
    ::shutdown(fd_, SHUT_RDWR);
}

bool Connection::done() const {
    return state_ == State::closed && !recv_completion_.in_flight && !send_completion_.in_flight;
}

void Connection::request_flush() {
    if (flush_requested_ || state_ == State::closed) return;
    flush_requested_ = true;
    context_.flush_list.push_back(this);
}

void Connection::flush() {
    if (confirms_due_) {
        confirms_due_ = false;
        for (auto& [number, ch] : channels_) ch->flush_confirms();
    }
    flush_requested_ = false;
    if (state_ == State::closed || send_completion_.in_flight) return;
    if (sending_.empty()) {
        if (out_.empty()) return;
        out_.swap_contents(sending_);
    }
    // Sized to what this send needs: an idle connection that once sent a handshake keeps a
    // few iovecs, not IOV_MAX of them (16 KiB each, times ten thousand connections).
    auto wanted =
        static_cast<u32>(std::min<usize>(sending_.iovec_count(), limits::iovec_count_max));
    if (iov_.size() < wanted) iov_.resize(wanted);
    u32 count = sending_.build_iovecs(iov_.data(), wanted);
    LEPUS_ASSERT(count > 0);
    message_header_ = msghdr{};
    message_header_.msg_iov = iov_.data();
    message_header_.msg_iovlen = count;
    io_uring_sqe* sqe = context_.ring.prepare(send_completion_);
    io_uring_prep_sendmsg(sqe, fd_, &message_header_, MSG_NOSIGNAL);
    last_sent_ms_ = send_progress_ms_ = context_.now_ms;
}

void Connection::on_send(io::Completion& completion, i32 result, u32) {
    auto& self = *static_cast<Connection*>(completion.owner);
    if (self.state_ == State::closed) {
        self.sending_.clear();
        return;
    }
    if (result < 0) {
        LEPUS_LOG(warning, "send to %s failed: %s", self.peer_name_.c_str(),
                  std::strerror(-result));
        self.sending_.clear();
        self.terminate("send failed");
        return;
    }
    self.send_progress_ms_ = self.context_.now_ms;
    if (!self.sending_.consume(static_cast<usize>(result))) {
        self.flush();  // the rest of a partial send
        return;
    }
    self.sending_.clear();
    self.ease_send_backlog();
    if (self.credit_owed_) self.send_credits();
    if (!self.out_.empty()) {
        self.flush();
    } else if (self.close_after_send_) {
        self.terminate("closed after the last frame was sent");
    }
}

void Connection::send_credits() {
    credit_owed_ = false;
    for (auto& [number, ch] : channels_) ch->send_credits();
}

void Connection::tick() {
    u64 now = context_.now_ms;
    if (state_ == State::closed) return;
    // A live connection always has a receive armed unless paused for back-pressure. Should the
    // receive's completions ever leave it unarmed, reading must not stop for good: say so, and
    // arm it again.
    if (!recv_paused_ && !recv_completion_.in_flight && !close_after_send_ && !peer_gone_) {
        LEPUS_LOG(warning, "connection %s had no receive armed; arming it again",
                  peer_name_.c_str());
        arm_recv();
    }
    if (carry_size_ > 0 && now - carry_started_ms_ > limits::incomplete_frame_timeout_ms &&
        !close_after_send_) {
        LEPUS_LOG(warning, "closing connection %s: a frame begun %llu ms ago is incomplete",
                  peer_name_.c_str(), static_cast<unsigned long long>(now - carry_started_ms_));
        drop_carry();
        frame_error(ReplyCode::frame_error,
                    "FRAME_ERROR - frame incomplete after " +
                        std::to_string(limits::incomplete_frame_timeout_ms) + " ms");
        return;
    }
    if (send_stuck()) {
        LEPUS_LOG(warning,
                  "closing connection %s: %zu bytes wait to be sent and its peer has read none "
                  "of them for %u ms",
                  peer_name_.c_str(), send_backlog(), context_.options.send_timeout_ms);
        terminate("send timeout");
        return;
    }
    if (state_ == State::closing) {
        if (silent_close_ && now - closing_since_ms_ > limits::handshake_error_close_delay_ms) {
            terminate("handshake failed");
        } else if (now - closing_since_ms_ > limits::close_handshake_timeout_ms) {
            terminate("close handshake timed out");
        }
        return;
    }
    if (state_ != State::open) {
        if (now - opened_ms_ > context_.options.handshake_timeout_ms) {
            LEPUS_LOG(warning, "closing connection %s: handshake timeout", peer_name_.c_str());
            terminate("handshake timeout");
        }
        return;
    }
    if (heartbeat_s_ == 0) return;
    u64 interval_ms = u64{heartbeat_s_} * 1000;
    // Paused for back-pressure, the client's bytes (its heartbeats too) wait unread: its
    // silence is ours. Ours still go out, or the client would take the broker for dead.
    if (!recv_paused_ && now - last_received_ms_ > 2 * interval_ms) {
        LEPUS_LOG(warning, "closing connection %s: missed heartbeats from client, timeout: %us",
                  peer_name_.c_str(), heartbeat_s_);
        terminate("missed heartbeats");
        return;
    }
    if (now - last_sent_ms_ >= interval_ms / 2) {
        write_heartbeat_frame(out_.writer());
        last_sent_ms_ = now;
        request_flush();
    }
}

Channel* Connection::channel(u16 number, u32 generation) {
    Channel* found = channel_cache_;
    if (found == nullptr || found->number() != number) {
        auto it = channels_.find(number);
        if (it == channels_.end()) return nullptr;
        found = channel_cache_ = it->second.get();
    }
    return found->generation() == generation ? found : nullptr;
}

void Connection::on_message(core::ShardMessage message) {
    const core::ChannelKey* key = core::channel_of(message);
    LEPUS_ASSERT(key != nullptr);
    // Only an open channel of an open connection takes a message; for any other the
    // conversation is settled here, so nothing is stranded and no consumer is left behind.
    Channel* ch = state_ == State::open ? channel(key->channel, key->generation) : nullptr;
    if (ch == nullptr || !ch->takes_messages()) {
        bounce(message, context_.outbox);
        return;
    }
    u16 number = key->channel;
    if (std::holds_alternative<core::Persisted>(message)) {
        // Many arrive per loop turn: their confirms go out together, at this turn's send.
        ch->on_message(message);
        confirms_due_ = true;
        request_flush();
        return;
    }
    ch->on_message(message);
    auto it = channels_.find(number);
    if (it != channels_.end() && it->second->finished()) {
        channel_cache_ = nullptr;
        channels_.erase(it);
    }
    if (state_ == State::open) {
        for (auto& [n, c] : channels_) c->flush_confirms();
    }
}

}  // namespace lepus::server
