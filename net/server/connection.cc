#include "net/server/connection.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "net/server/tls_state.h"

namespace lepus::server {

namespace {

// "HOST:PORT" of a socket address, with the loopback test the login rules need.
std::string address_text(const sockaddr_storage& address, bool* loopback) {
    char host[INET6_ADDRSTRLEN] = "?";
    u16 port = 0;
    bool is_loopback = false;
    if (address.ss_family == AF_INET) {
        const auto& a = reinterpret_cast<const sockaddr_in&>(address);
        inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
        port = ntohs(a.sin_port);
        is_loopback = (ntohl(a.sin_addr.s_addr) >> 24) == 127;
    } else if (address.ss_family == AF_INET6) {
        const auto& a = reinterpret_cast<const sockaddr_in6&>(address);
        inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof host);
        port = ntohs(a.sin6_port);
        is_loopback = IN6_IS_ADDR_LOOPBACK(&a.sin6_addr) ||
                      (IN6_IS_ADDR_V4MAPPED(&a.sin6_addr) && a.sin6_addr.s6_addr[12] == 127);
    }
    if (loopback != nullptr) *loopback = is_loopback;
    return std::string(host) + ":" + std::to_string(port);
}

session::Peer describe_peer(int fd, const sockaddr_storage& peer, bool tls) {
    bool loopback = false;
    std::string name = address_text(peer, &loopback);
    // Named as rabbitmqctl lists it (net/admin/rows.h), so a log line leads to the connection.
    sockaddr_storage local{};
    socklen_t length = sizeof local;
    std::string local_name = ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0
                                 ? address_text(local, nullptr)
                                 : std::string("?");
    std::string connection_name = name + " -> " + local_name;
    return {std::move(name), loopback, tls, std::move(connection_name)};
}

}  // namespace

Connection::Connection(ShardContext& context, int fd, u32 slot, u32 generation,
                       const sockaddr_storage& peer, const tls::Context* tls)
    : context_(context),
      fd_(fd),
      tls_(tls != nullptr ? std::make_unique<TlsState>(*tls) : nullptr),
      session_(context, *this, core::ConnectionKey{context.shard, slot, generation},
               describe_peer(fd, peer, tls != nullptr)) {
    recv_completion_.callback = &Connection::on_recv;
    recv_completion_.owner = this;
    send_completion_.callback = tls_ ? &Connection::on_send_tls : &Connection::on_send;
    send_completion_.owner = this;
}

Connection::~Connection() {
    LEPUS_ASSERT(!recv_completion_.in_flight && !send_completion_.in_flight);
    if (fd_ >= 0) ::close(fd_);
}

void Connection::start() {
    session_.start();
    arm_recv();
}

// ---- receiving ----

void Connection::arm_recv() {
    io_uring_sqe* sqe = context_.ring.prepare(recv_completion_);
    io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = context_.buffers.group_id();
}

void Connection::on_recv(io::Completion& completion, i32 result, u32 flags) {
    auto& self = *static_cast<Connection*>(completion.owner);
    if (result > 0) {
        self.received_bytes_ += static_cast<u64>(result);
        LEPUS_ASSERT(flags & IORING_CQE_F_BUFFER);
        auto bid = static_cast<u16>(flags >> IORING_CQE_BUFFER_SHIFT);
        ChunkRef chunk = ChunkRef::adopt(self.context_.buffers.take(bid));
        if (self.tls_) {
            // Ciphertext: OpenSSL copies it in, and the buffer goes back to the pool here.
            if (!self.closed_) self.receive_tls(chunk.get()->data(), static_cast<u32>(result));
        } else {
            if (static_cast<u32>(result) <= limits::recv_compact_max) {
                // See limits::recv_compact_max: the ring's buffer returns to the pool here.
                Chunk* fitted = Chunk::allocate(static_cast<u32>(result));
                std::memcpy(fitted->data(), chunk.get()->data(), static_cast<usize>(result));
                chunk = ChunkRef::adopt(fitted);
            }
            if (!self.closed_) self.receive(std::move(chunk), static_cast<u32>(result));
        }
    } else if (result == -ECANCELED) {
        // Our own cancel, for back-pressure. Paused: resume_reading() arms it again. Resumed
        // before the cancel completed (resume could not arm a receive still in flight): the
        // receive is armed again below, so no byte waits unread.
        if (self.recv_paused_) return;
    } else if (!self.closed_) {
        if (result == 0) {
            // What the peer sent before closing is handled first (a close among it makes
            // this a clean end), then the connection ends.
            self.peer_gone_ = true;
            if (self.inbox_.empty()) self.end_after_peer_closed();
            return;
        }
        if (result != -ENOBUFS) {
            LEPUS_LOG(warning, "receive from %s failed: %s", self.peer_name().c_str(),
                      std::strerror(-result));
            self.terminate("socket error");
            return;
        }
        // -ENOBUFS: every provided buffer was taken in one burst; they were refilled as each
        // completion was handled, so receiving again is safe.
    }
    if (!(flags & IORING_CQE_F_MORE) && !self.closed_ && !self.recv_paused_) self.arm_recv();
}

void Connection::stop_reading() {
    if (recv_paused_ || closed_) return;
    recv_paused_ = true;
    if (recv_completion_.in_flight) {
        io_uring_sqe* sqe = context_.ring.prepare_untracked();
        io_uring_prep_cancel(sqe, &recv_completion_, 0);
    }
}

void Connection::restart_reading() {
    if (!recv_paused_ || inbox_full_ || held_for_publishing_ || send_backlogged_ ||
        session_.silenced() || peer_gone_ || closed_)
        return;
    recv_paused_ = false;
    // Time spent paused is the broker's doing, not a silent peer's.
    session_.note_received();
    if (!recv_completion_.in_flight) arm_recv();
}

void Connection::end_after_peer_closed() {
    if (session_.state() == State::open) {
        LEPUS_LOG(warning, "client %s closed TCP connection unexpectedly", peer_name().c_str());
    }
    terminate("peer closed the socket");
}

void Connection::receive(ChunkRef chunk, u32 size) {
    session_.note_received();
    // Bounded by the memory the receives hold, whole buffers, however little each carries.
    u64 held = chunk.get()->capacity;
    inbox_.push_back(Received{std::move(chunk), 0, size});
    inbox_bytes_ += held;
    update_shard_inbox_share();
    if (!input_held()) enlist_for_input();
    if (!inbox_full_ && inbox_bytes_ > limits::connection_inbox_high) {
        inbox_full_ = true;
        stop_reading();
    }
}

void Connection::enlist_for_input() {
    if (input_enlisted_ || closed_) return;
    input_enlisted_ = true;
    context_.input_turns.enlist(key().slot, key().generation);
}

bool Connection::input_held() const {
    // Publishers held by back-pressure handle nothing more until it ends, not only read
    // nothing more: what they sent already would otherwise still reach the queues.
    return held_for_publishing_ || send_backlogged_ || !session_.takes_input() || closed_;
}

bool Connection::wants_input_turn() const { return !inbox_.empty() && !input_held(); }

u64 Connection::serve_input(u64 budget) {
    input_enlisted_ = false;
    u64 spent = 0;
    while (spent < budget && wants_input_turn()) {
        Received& next = inbox_.front();
        u32 used =
            static_cast<u32>(session_.consume(next.chunk.get()->data() + next.offset,
                                              next.size - next.offset, next.chunk, budget, spent));
        if (closed_) return spent;  // terminate() has emptied the inbox
        LEPUS_ASSERT(used > 0 || input_held());
        next.offset += used;
        if (next.offset == next.size) {
            inbox_bytes_ -= next.chunk.get()->capacity;
            inbox_.pop_front();
            update_shard_inbox_share();
        }
    }
    if (closed_) return spent;
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

void Connection::after_input() {
    session::Session::Published published = session_.after_input();
    if (published.any) {
        bool alarm = context_.broker.resource_alarm();
        if (context_.throttled || published.pressured || alarm) {
            held_for_publishing_ = true;
            update_shard_inbox_share();
            if (!paused_listed_) paused_for_ = published.pressured;
            pause_reading();
        }
        if (alarm) session_.send_blocked(context_.broker.alarm_reason());
    }
    note_send_backlog();
}

// ---- back-pressure ----

void Connection::update_shard_inbox_share() {
    // A held publisher handles nothing until its hold lifts and reads nothing more (its receive
    // is cancelled), so what it holds is bounded apart and must not stop the shard from taking
    // the completions, acks above all, that lift the hold. Beyond its own high mark a
    // connection's inbox is bounded by its stopped reads too; counting it whole would stop
    // every completion for as many turns as the excess takes to handle once it resumes.
    u64 share = held_for_publishing_ || closed_
                    ? 0
                    : std::min<u64>(inbox_bytes_, limits::connection_inbox_high);
    context_.inbox_bytes = context_.inbox_bytes - shard_inbox_share_ + share;
    shard_inbox_share_ = share;
}

void Connection::pause_reading() {
    if (closed_) return;
    if (!paused_listed_) {
        paused_listed_ = true;
        context_.paused.push_back(this);
    }
    stop_reading();
}

bool Connection::may_resume() const {
    if (send_backlogged_ || session_.silenced()) return false;
    // The throttle, the alarm and queue pressure hold only a connection that publishes.
    if (!held_for_publishing_) return true;
    if (context_.throttled || context_.broker.resource_alarm()) return false;
    return !paused_for_ || !context_.broker.pressured(*paused_for_);
}

void Connection::resume_input() {
    if (!inbox_.empty()) enlist_for_input();
    restart_reading();
}

void Connection::resume_reading() {
    paused_listed_ = false;
    held_for_publishing_ = false;
    update_shard_inbox_share();
    paused_for_.reset();
    session_.send_unblocked();
    // What was received is handled again; the socket is read again unless the inbox is still
    // full (serve_input restarts it once that has drained).
    if (!inbox_.empty()) enlist_for_input();
    restart_reading();
}

void Connection::note_send_backlog() {
    if (send_backlogged_ || send_backlog() <= limits::connection_send_backlog_high) return;
    LEPUS_LOG(debug, "connection %s: %zu bytes wait to be sent; reading paused until it reads",
              peer_name().c_str(), send_backlog());
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
    std::erase(context_.paused, this);
}

bool Connection::send_stuck() const {
    return send_backlogged_ && send_completion_.in_flight &&
           context_.now_ms - send_progress_ms_ > context_.options.send_timeout_ms;
}

// ---- sending ----

void Connection::request_flush() {
    if (flush_requested_ || closed_) return;
    flush_requested_ = true;
    context_.flush_list.push_back(this);
}

void Connection::flush() {
    session_.before_send();
    flush_requested_ = false;
    if (closed_ || send_completion_.in_flight) return;
    if (tls_) {
        flush_tls();
        return;
    }
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
    session_.note_sent();
    send_progress_ms_ = context_.now_ms;
}

void Connection::on_send(io::Completion& completion, i32 result, u32) {
    auto& self = *static_cast<Connection*>(completion.owner);
    if (self.closed_) {
        self.sending_.clear();
        return;
    }
    if (result < 0) {
        LEPUS_LOG(warning, "send to %s failed: %s", self.peer_name().c_str(),
                  std::strerror(-result));
        self.sending_.clear();
        self.terminate("send failed");
        return;
    }
    self.send_progress_ms_ = self.context_.now_ms;
    self.sent_bytes_ += static_cast<u64>(result);
    if (!self.sending_.consume(static_cast<usize>(result))) {
        self.flush();  // the rest of a partial send
        return;
    }
    self.sending_.clear();
    self.ease_send_backlog();
    self.session_.after_send();
    if (!self.out_.empty()) {
        self.flush();
    } else if (self.session_.ends_after_send()) {
        self.terminate("closed after the last frame was sent");
    }
}

// ---- timers and the end ----

void Connection::tick() {
    if (closed_) return;
    // A live connection always has a receive armed unless paused for back-pressure. Should the
    // receive's completions ever leave it unarmed, reading must not stop for good: say so, and
    // arm it again.
    if (!recv_paused_ && !recv_completion_.in_flight && !session_.ends_after_send() &&
        !peer_gone_) {
        LEPUS_LOG(warning, "connection %s had no receive armed; arming it again",
                  peer_name().c_str());
        arm_recv();
    }
    if (send_stuck()) {
        LEPUS_LOG(warning,
                  "closing connection %s: %zu bytes wait to be sent and its peer has read none "
                  "of them for %u ms",
                  peer_name().c_str(), send_backlog(), context_.options.send_timeout_ms);
        terminate("send timeout");
        return;
    }
    session_.tick(recv_paused_);
}

void Connection::terminate(const char* reason) {
    session_.end(reason);
    close_socket();
}

void Connection::hang_up(const char*) {
    LEPUS_ASSERT(session_.state() == State::closed);
    close_socket();
}

void Connection::close_socket() {
    if (closed_) return;
    closed_ = true;
    inbox_.clear();  // a turn still in line finds it closed, or its slot freed or reused
    inbox_bytes_ = 0;
    update_shard_inbox_share();
    inbox_full_ = false;
    if (paused_listed_) leave_paused_list();
    recv_paused_ = false;
    context_.terminated_slots.push_back(key().slot);
    // Shutting the socket down completes the in-flight receive and send; done() then lets the
    // shard free the slot and close the descriptor.
    ::shutdown(fd_, SHUT_RDWR);
}

bool Connection::done() const {
    return closed_ && !recv_completion_.in_flight && !send_completion_.in_flight;
}

}  // namespace lepus::server
