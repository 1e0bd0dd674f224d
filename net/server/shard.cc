#include "net/server/shard.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "net/server/listener.h"
#include "net/session/bounce.h"

namespace lepus::server {

namespace {

constexpr u16 buffer_group = 1;

u64 clock_ms(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<u64>(ts.tv_sec) * 1000 + static_cast<u64>(ts.tv_nsec) / 1000000;
}

u64 monotonic_ms() { return clock_ms(CLOCK_MONOTONIC); }

u64 monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<u64>(ts.tv_sec) * 1000000000 + static_cast<u64>(ts.tv_nsec);
}

// Tells the core this is a spin loop (saves power, yields to a sibling hyperthread).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// Errors of accept(2) that end the connection they were for, so the next accept takes the next
// one: a connection aborted before it was taken, refused by a firewall rule, or one of the
// network errors Linux passes on from the new socket. Any other failure (out of descriptors or
// kernel memory, or a broken listener) leaves the backlog as it was, and would recur at once.
bool accept_error_uses_up_connection(int error) {
    switch (error) {
        case ECONNABORTED:
        case EPERM:
        case EPROTO:
        case ENOPROTOOPT:
        case ENETDOWN:
        case ENETUNREACH:
        case EHOSTDOWN:
        case EHOSTUNREACH:
        case ENONET:
        case EOPNOTSUPP: return true;
        default: return false;
    }
}

}  // namespace

Shard::Shard(ShardId id, ShardGrid& grid, const Options& options)
    : id_(id),
      grid_(grid),
      options_(options),
      pool_(limits::recv_buffer_size, limits::recv_buffer_count * 2),
      buffers_(pool_, limits::recv_buffer_count, buffer_group),
      pending_(grid.shard_count()) {
    wakeup_completion_.callback = &Shard::on_wakeup;
    wakeup_completion_.owner = this;
}

Shard::~Shard() {
    // Connections first: they hold chunks and completions that refer to the ring.
    connections_.clear();
    admin_.reset();
    management_api_.reset();
    management_.reset();
    if (admin_fd_ >= 0) ::close(admin_fd_);
    if (management_fd_ >= 0) ::close(management_fd_);
    for (auto& listener : listeners_) {
        if (listener->fd >= 0) ::close(listener->fd);
    }
    for (int fd : first_fds_) {
        if (fd >= 0) ::close(fd);
    }
}

StartError Shard::init() {
    log::set_thread_shard(static_cast<int>(id_.value));
    pool_.bind_to_current_thread();
    message_pool_.bind_to_current_thread();
    int rc = ring_.init(limits::shard_ring_entries);
    if (rc < 0) {
        return std::string("io_uring set-up failed: ") + std::strerror(-rc) +
               " (needs Linux 6.1+ with io_uring enabled: sysctl kernel.io_uring_disabled=0)";
    }
    rc = buffers_.init(ring_.raw());
    if (rc < 0) {
        return std::string("registering provided buffers failed: ") + std::strerror(-rc) +
               " (needs Linux 5.19+)";
    }
    // Vhosts, like users, come from the definitions (those of a new data directory included).
    broker_ =
        std::make_unique<core::Broker>(id_, grid_.shard_count(), *this, std::vector<std::string>{});
    broker_->set_paging(u64{options_.queue_memory_mb} << 20, limits::queue_read_ahead_max);
    if (StartError error = open_journal(); error.failed()) return error;
    if (id_ == ShardId(0)) {
        memory_monitor_ = std::make_unique<MemoryMonitor>(memory_limit_bytes(options_));
        LEPUS_LOG(info, "memory high watermark %llu MiB (%s)",
                  static_cast<unsigned long long>(memory_monitor_->limit_bytes() >> 20),
                  options_.memory_limit_mb > 0 ? "memory_limit_mb"
                                               : "memory_high_watermark of physical memory");
        if (options_.disk_free_limit_bytes > 0 && !durability_.data_dir.empty()) {
            disk_monitor_ =
                std::make_unique<DiskMonitor>(durability_.data_dir, options_.disk_free_limit_bytes);
            LEPUS_LOG(info, "disk free limit %llu bytes",
                      static_cast<unsigned long long>(options_.disk_free_limit_bytes));
        }
    }
    context_ = std::make_unique<ShardContext>(id_, ring_, buffers_, *broker_, *this, options_);
    context_->random_state ^=
        (monotonic_ms() << 16) ^ (u64{id_.value} << 48) ^ static_cast<u64>(getpid());
    LEPUS_ASSERT(addresses_ != nullptr && !addresses_->empty());
    LEPUS_ASSERT(first_fds_.empty() || first_fds_.size() == addresses_->size());
    for (usize i = 0; i < addresses_->size(); i++) {
        const ListenAddress& address = (*addresses_)[i];
        auto listener = std::make_unique<Listener>();
        listener->shard = this;
        listener->address = &address;
        listener->accept.callback = &Shard::on_accept;
        listener->accept.owner = listener.get();
        std::string error;
        listener->fd = first_fds_.empty() ? open_shared_listener(address, error) : first_fds_[i];
        if (!first_fds_.empty()) first_fds_[i] = -1;
        if (listener->fd < 0) return error;
        LEPUS_ASSERT(address.transport == Transport::tcp || tls_ != nullptr);
        listeners_.push_back(std::move(listener));
    }
    if (accepts_released_.load()) {
        arm_accepts();
    } else {
        accept_state_ = AcceptState::held;
    }
    arm_wakeup();
    started_wall_ms_ = clock_ms(CLOCK_REALTIME);
    if (admin_fd_ >= 0) {
        LEPUS_ASSERT(id_ == ShardId(0));
        admin_ = std::make_unique<admin::Endpoint>(admin_fd_, ring_, *this, *broker_,
                                                   grid_.shard_count(), std::string(lepus_version),
                                                   [this] { return node_status(); });
        admin_fd_ = -1;
        admin_->start();
    }
    if (management_fd_ >= 0) {
        LEPUS_ASSERT(admin_ != nullptr);
        management_api_ = std::make_unique<management::Api>(*admin_, broker_->catalog(),
                                                            [this] { return node_status(); });
        management_ = std::make_unique<management::HttpServer>(
            management_fd_, ring_, "management API",
            [api = management_api_.get()](management::HttpRequest& request,
                                          management::HttpReply reply) {
                api->handle(request, std::move(reply));
            });
        management_fd_ = -1;
        management_->start();
    }
    return {};
}

StartError Shard::open_journal() {
    if (durability_.definitions != nullptr) broker_->restore_definitions(*durability_.definitions);
    if (durability_.data_dir.empty()) return {};
    std::string directory = durability_.data_dir + "/shard-" + std::to_string(id_.value);
    journal_ = std::make_unique<DiskJournal>("shard " + std::to_string(id_.value));
    std::string error = journal_->open(directory, durability_.journal_options);
    if (!error.empty()) return error;
    journal_->bind(ring_);
    broker_->set_journal(journal_.get());
    StartError recovered = journal_->recover(
        [this](u8 kind, u64 sequence, const persist::Location& location, std::string_view payload) {
            broker_->recover_record(
                kind, sequence,
                core::RecordPlace{location.segment, location.offset, location.length}, payload);
        });
    if (recovered.failed()) return recovered;
    u64 messages = broker_->finish_recovery();
    if (messages > 0) LEPUS_LOG(info, "recovered %llu messages", (unsigned long long)messages);
    if (id_ == ShardId(0) && durability_.definitions_journal != nullptr) {
        // Recovered by the server on its own thread, which needed no ring; its writes go on
        // this shard's ring from here on, and this thread is the ring's single issuer.
        durability_.definitions_journal->bind(ring_);
        broker_->set_definitions_log(durability_.definitions_log, durability_.definitions_journal,
                                     durability_.queue_id_base);
    }
    return {};
}

void Shard::poll_journals() {
    bool progress = false;
    if (journal_ && journal_->poll()) progress = true;
    DiskJournal* definitions = durability_.definitions_journal;
    if (id_ == ShardId(0) && definitions != nullptr && definitions->poll()) progress = true;
    if (progress) broker_->on_journal_progress();
}

void Shard::flush_journals() {
    if (journal_) {
        broker_->flush_journal();
        // Group commit across turns when asked: fewer, larger writes for a bounded wait.
        u64 now = context_->now_ms;
        if (options_.journal_flush_ms == 0 || stopping_ ||
            now - journal_flushed_ms_ >= options_.journal_flush_ms) {
            journal_->flush();
            journal_flushed_ms_ = now;
        }
    }
    if (id_ == ShardId(0) && durability_.definitions_journal != nullptr) {
        // Releases what an earlier turn's durable write holds (and may snapshot).
        broker_->on_journal_progress();
        durability_.definitions_journal->flush();
    }
}

u64 Shard::journal_deadline_ms() const {
    if (!journal_ || options_.journal_flush_ms == 0 || !journal_->unsubmitted()) return UINT64_MAX;
    return journal_flushed_ms_ + options_.journal_flush_ms;
}

bool Shard::journals_busy() const {
    if (journal_ && journal_->busy()) return true;
    return id_ == ShardId(0) && durability_.definitions_journal != nullptr &&
           durability_.definitions_journal->busy();
}

void Shard::arm_accept(Listener& listener) {
    io_uring_sqe* sqe = ring_.prepare(listener.accept);
    io_uring_prep_multishot_accept(sqe, listener.fd, nullptr, nullptr, SOCK_CLOEXEC);
}

void Shard::arm_accepts() {
    for (auto& listener : listeners_) {
        if (!listener->accept.in_flight) arm_accept(*listener);
    }
}

void Shard::cancel_accepts() {
    for (auto& listener : listeners_) {
        if (!listener->accept.in_flight) continue;
        io_uring_sqe* sqe = ring_.prepare_untracked();
        io_uring_prep_cancel(sqe, &listener->accept, 0);
    }
}

bool Shard::accepts_in_flight() const {
    for (const auto& listener : listeners_) {
        if (listener->accept.in_flight) return true;
    }
    return false;
}

void Shard::arm_wakeup() {
    io_uring_sqe* sqe = ring_.prepare(wakeup_completion_);
    io_uring_prep_read(sqe, grid_.wake_fd(id_.value), &wakeup_value_, sizeof wakeup_value_, 0);
}

void Shard::on_accept(io::Completion& completion, i32 result, u32 flags) {
    auto& listener = *static_cast<Listener*>(completion.owner);
    auto& self = *listener.shard;
    bool ended = !(flags & IORING_CQE_F_MORE);
    if (result >= 0) {
        self.accept_connection(result, listener);
    } else if (result != -ECANCELED && !self.stopping_) {
        self.accept_failed(-result);
    }
    if (ended && !self.stopping_ && self.accept_state_ == AcceptState::accepting &&
        !listener.accept.in_flight) {
        self.arm_accept(listener);
    }
}

void Shard::accept_failed(int error) {
    // The clock of this turn was read before the wait that brought this completion.
    u64 now = monotonic_ms();
    AcceptFailures& failures = accept_failures_;
    if (failures.count++ == 0) failures.first_ms = now;
    failures.error = error;
    if (!accept_error_uses_up_connection(error)) {
        accept_state_ = AcceptState::paused;
        accept_resume_ms_ = now + limits::accept_pause_ms;
        // The kernel ends a multishot accept on such an error; those still armed (this
        // listener's, were it not ended, and the other listeners') are cancelled, so that the
        // pause is one: the descriptors or memory that ran out are the whole process's.
        cancel_accepts();
    }
    report_accept_failures();
}

void Shard::resume_accepting() {
    accept_state_ = AcceptState::accepting;
    // A cancelled accept still in flight is armed again when its completion arrives.
    if (!stopping_) arm_accepts();
}

u64 Shard::accept_deadline_ms() const {
    return accept_state_ == AcceptState::paused ? accept_resume_ms_ : UINT64_MAX;
}

void Shard::report_accept_failures() {
    AcceptFailures& failures = accept_failures_;
    if (failures.count == 0) return;
    u64 now = monotonic_ms();
    u64 interval = limits::accept_failure_log_interval_ms;
    if (failures.logged_ms != 0 && now - failures.logged_ms < interval) return;
    char pause[64] = "";
    if (accept_state_ == AcceptState::paused) {
        std::snprintf(pause, sizeof pause, "; pausing accepts for %u ms", limits::accept_pause_ms);
    }
    if (failures.count == 1) {
        LEPUS_LOG(warning, "accept failed: %s%s", std::strerror(failures.error), pause);
    } else {
        LEPUS_LOG(warning, "accept failed: %s (x%u in the last %.1f s)%s",
                  std::strerror(failures.error), failures.count,
                  static_cast<double>(now - failures.first_ms) / 1000.0, pause);
    }
    failures.count = 0;
    failures.logged_ms = now;
}

void Shard::on_wakeup(io::Completion& completion, i32, u32) {
    auto& self = *static_cast<Shard*>(completion.owner);
    if (!self.stopping_ || self.live_connections_ > 0) self.arm_wakeup();
}

void Shard::set_buffer_sizes(int fd) {
    // Asked for, the kernel doubles the size (bookkeeping) and no longer autotunes it.
    auto set = [&](int option, u32 bytes, const char* name) {
        if (bytes == 0) return;
        int value = static_cast<int>(bytes);
        if (setsockopt(fd, SOL_SOCKET, option, &value, sizeof value) != 0) {
            LEPUS_LOG(warning, "setting %s to %u bytes failed: %s", name, bytes,
                      std::strerror(errno));
        }
    };
    set(SO_RCVBUF, options_.tcp_recbuf, "SO_RCVBUF");
    set(SO_SNDBUF, options_.tcp_sndbuf, "SO_SNDBUF");
}

void Shard::accept_connection(int fd, const Listener& listener) {
    if (stopping_ || live_connections_ >= limits::connection_count_max) {
        LEPUS_LOG(warning, "refusing connection: %s",
                  stopping_ ? "shutting down" : "connection limit reached");
        ::close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    set_buffer_sizes(fd);
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length);
    u32 slot;
    if (!free_slots_.empty()) {
        slot = free_slots_.back();
        free_slots_.pop_back();
    } else {
        slot = static_cast<u32>(connections_.size());
        connections_.emplace_back();
        generations_.push_back(0);
    }
    u32 generation = ++generations_[slot];
    // The handshake deadline counts from now. The clock of this turn may be older than the
    // accept by however long the thread was descheduled after reading it; one read per accepted
    // connection keeps the deadline from starting before the client connected.
    context_->now_ms = monotonic_ms();
    const tls::Context* tls = listener.address->transport == Transport::tls ? tls_.get() : nullptr;
    connections_[slot] = std::make_unique<Connection>(*context_, fd, slot, generation, peer, tls);
    live_connections_++;
    connections_[slot]->start();
}

Connection* Shard::find_connection(const core::ConnectionKey& key) {
    if (key.slot >= connections_.size() || generations_[key.slot] != key.generation) return nullptr;
    return connections_[key.slot].get();
}

void Shard::send(ShardId to, core::ShardMessage message) {
    LEPUS_ASSERT(to.value < grid_.shard_count());
    if (to == id_) {
        local_.push_back(std::move(message));
    } else {
        pending_[to.value].push_back(std::move(message));
    }
}

void Shard::flush_outbox() {
    usize backlog = 0;
    for (u32 to = 0; to < grid_.shard_count(); to++) {
        auto& pending = pending_[to];
        if (pending.empty()) continue;
        auto& ring = grid_.ring(id_.value, to);
        while (!pending.empty() && ring.try_push(pending.front())) pending.pop_front();
        grid_.wake_if_sleeping(to);
        backlog += pending.size();
    }
    // Work for this shard itself counts too: a publisher whose queue lives here must not
    // outrun the dispatch to its consumers any more than one whose queue lives elsewhere.
    backlog += local_.size();
    // Back-pressure with hysteresis: every publisher on this shard pauses while the other
    // shards cannot keep up. Publishers to a delivery-bound queue pause on their own (see
    // Connection::note_pressured) and resume when its pressure ends.
    bool lifted = false;
    if (!context_->throttled && backlog > limits::shard_backlog_high) {
        context_->throttled = true;
        LEPUS_LOG(debug, "backlog of %zu messages to other shards: pausing publishers", backlog);
    } else if (context_->throttled && backlog < limits::shard_backlog_low) {
        context_->throttled = false;
        lifted = true;
    }
    bool alarm = broker_->resource_alarm();
    if (alarm != seen_memory_alarm_) {
        seen_memory_alarm_ = alarm;
        // Connections paused already (for pressure) stay paused for the alarm: they learn why.
        if (alarm) {
            for (Connection* connection : context_->paused) connection->send_blocked();
        } else {
            lifted = true;
        }
    }
    resume_if_lifted(lifted);
}

void Shard::check_memory() {
    std::optional<bool> alarm = memory_monitor_->check();
    if (!alarm) return;
    auto mib = [](u64 bytes) { return static_cast<unsigned long long>(bytes >> 20); };
    if (*alarm) {
        LEPUS_LOG(warning,
                  "memory alarm set: resident memory %llu MiB is above the high watermark of "
                  "%llu MiB; connections that publish are blocked until it falls",
                  mib(memory_monitor_->resident_bytes()), mib(memory_monitor_->limit_bytes()));
    } else {
        LEPUS_LOG(warning,
                  "memory alarm cleared: resident memory %llu MiB is below the high watermark "
                  "of %llu MiB; publishing resumes",
                  mib(memory_monitor_->resident_bytes()), mib(memory_monitor_->limit_bytes()));
    }
    set_prompt_decommit(*alarm);
    broker_->raise_alarm(core::Resource::memory, *alarm);
}

void Shard::check_disk() {
    std::optional<bool> alarm = disk_monitor_->check(context_->now_ms);
    if (!alarm) return;
    auto bytes = [](u64 n) { return static_cast<unsigned long long>(n); };
    if (*alarm) {
        LEPUS_LOG(warning,
                  "disk alarm set: %llu bytes free in the data directory's file system, below "
                  "the limit of %llu bytes; connections that publish are blocked until there is "
                  "enough again",
                  bytes(disk_monitor_->free_bytes()), bytes(disk_monitor_->limit_bytes()));
    } else {
        LEPUS_LOG(warning,
                  "disk alarm cleared: %llu bytes free, the limit is %llu bytes; publishing "
                  "resumes",
                  bytes(disk_monitor_->free_bytes()), bytes(disk_monitor_->limit_bytes()));
    }
    broker_->raise_alarm(core::Resource::disk, *alarm);
}

void Shard::resume_if_lifted(bool lifted) {
    if (broker_->pressure_lifts() != seen_pressure_lifts_) {
        seen_pressure_lifts_ = broker_->pressure_lifts();
        lifted = true;
    }
    if (lifted) resume_paused();
}

usize Shard::resume_paused() {
    auto& paused = context_->paused;
    usize kept = 0;
    for (Connection* connection : paused) {
        if (connection->may_resume()) {
            connection->resume_reading();
        } else {
            paused[kept++] = connection;
        }
    }
    usize resumed = paused.size() - kept;
    paused.resize(kept);
    return resumed;
}

void Shard::deliver(core::ShardMessage message) {
    // The one routing rule: a message that names a channel goes to it; the broker takes the
    // rest, but for the administration messages, which are the shard's own.
    const core::ChannelKey* channel = core::channel_of(message);
    if (channel == nullptr) {
        if (auto* query = std::get_if<std::unique_ptr<core::AdminQuery>>(&message)) {
            answer_admin_query(**query);
        } else if (auto* answer = std::get_if<std::unique_ptr<core::AdminAnswer>>(&message)) {
            LEPUS_ASSERT(admin_ != nullptr);
            admin_->on_answer(std::move(*answer));
        } else {
            broker_->handle(std::move(message));
        }
        return;
    }
    if (core::is_admin_requester(*channel)) [[unlikely]] {
        LEPUS_ASSERT(admin_ != nullptr);
        if (auto* got = std::get_if<std::unique_ptr<core::GetReply>>(&message)) {
            admin_->on_get_reply(std::move(*got));
        } else {
            admin_->on_reply(std::move(std::get<std::unique_ptr<core::MetaReply>>(message)));
        }
        return;
    }
    LEPUS_ASSERT(channel->connection.shard == id_);
    Connection* connection = find_connection(channel->connection);
    if (connection == nullptr || connection->state() == Connection::State::closed) {
        session::bounce(message, *this);
        return;
    }
    const core::ChannelKey to = *channel;  // a copy: `channel` points into the message
    connection->on_message(std::move(message), to);
}

bool Shard::drain_mailboxes() {
    bool any = false;
    // Local messages first: they were caused by work done in this turn.
    for (u32 round = 0; round < 8; round++) {
        bool progress = false;
        u32 budget = limits::shard_mailbox_batch_max;
        while (!local_.empty() && budget-- > 0) {
            core::ShardMessage m = std::move(local_.front());
            local_.pop_front();
            deliver(std::move(m));
            progress = true;
        }
        for (u32 from = 0; from < grid_.shard_count(); from++) {
            if (from == id_.value) continue;
            auto& ring = grid_.ring(from, id_.value);
            for (u32 n = 0; n < limits::shard_mailbox_batch_max; n++) {
                std::optional<core::ShardMessage> m = ring.try_pop();
                if (!m) break;
                deliver(std::move(*m));
                progress = true;
            }
        }
        broker_->dispatch_pending();
        any |= progress;
        if (!progress && local_.empty()) break;
    }
    return any;
}

void Shard::run_timers() {
    u64 now = context_->now_ms;
    if (accept_state_ == AcceptState::paused && now >= accept_resume_ms_) resume_accepting();
    if (admin_) admin_->tick(now);
    if (management_) management_->tick(now);
    if (management_api_) management_api_->tick(now);
    if (now - last_tick_ms_ < limits::tick_interval_ms) return;
    last_tick_ms_ = now;
    // Failures counted after the last line are told once its interval has passed, even when
    // no more come.
    report_accept_failures();
    // Paused connections are resumed when their back-pressure ends; one left paused after it
    // ended would never read again, so the tick checks (after the lifts of this very turn,
    // which flush_outbox has not seen yet).
    resume_if_lifted(false);
    // Under the memory alarm, what this shard keeps for reuse goes back to the kernel at every
    // tick, so the resident memory falls as soon as consumers have taken the backlog. Otherwise
    // it goes back once the shard has gone idle, so that the resident memory follows a drop in
    // load (connections, channels or queues gone) instead of staying at its peak.
    bool idle = idle_watch_.tick(now);
    if (broker_->alarm(core::Resource::memory) || idle) {
        if (idle) LEPUS_LOG(debug, "idle: returning free memory to the kernel");
        release_memory();
    }
    if (memory_monitor_) check_memory();
    if (disk_monitor_) check_disk();
    if (!context_->paused.empty()) {
        if (usize resumed = resume_paused(); resumed > 0) {
            LEPUS_LOG(warning, "%zu connections were still paused with no back-pressure; resumed",
                      resumed);
        }
    }
    for (auto& connection : connections_) {
        if (connection) connection->tick();
    }
    if (stopping_ && now - stop_started_ms_ > limits::shutdown_grace_ms) {
        for (auto& connection : connections_) {
            if (connection) connection->terminate("broker shutdown");
        }
    }
}

void Shard::release_memory() {
    PromptDecommit while_releasing;
    pool_.trim();
    message_pool_.trim();
    release_free_memory();
}

void Shard::reap_connections() {
    std::vector<u32>& slots = context_->terminated_slots;
    usize kept = 0;
    for (usize i = 0; i < slots.size(); i++) {
        auto& connection = connections_[slots[i]];
        if (connection && connection->done()) {
            // A connection may free thousands of channels at once (PromptDecommit).
            PromptDecommit while_freeing;
            connection.reset();
            free_slots_.push_back(slots[i]);
            live_connections_--;
        } else if (connection) {
            slots[kept++] = slots[i];  // I/O still draining
        }
    }
    slots.resize(kept);
}

void Shard::begin_shutdown() {
    stopping_ = true;
    stop_started_ms_ = context_->now_ms;
    cancel_accepts();
    if (management_) management_->stop();
    if (admin_) admin_->stop();
    for (auto& connection : connections_) {
        if (connection) connection->force_close("shutdown");
    }
}

u32 Shard::completion_batch() const {
    // Each receive adds at most one buffer to the inboxes.
    u64 held = context_->inbox_bytes;
    if (held >= limits::shard_inbox_high) return 0;
    return static_cast<u32>(
        std::min<u64>(limits::completion_batch_max,
                      (limits::shard_inbox_high - held) / limits::recv_buffer_size + 1));
}

bool Shard::busy_poll() {
    // Mailboxes are checked on every spin (a load per ring); the ring needs a syscall to run
    // the kernel's deferred completion work, so it is entered every few spins only.
    u64 deadline_ns = monotonic_ns() + u64{options_.busy_poll_us} * 1000;
    for (u32 spin = 0;; spin++) {
        if (grid_.has_incoming(id_.value)) return true;
        if (spin % limits::busy_poll_ring_every == 0 &&
            ring_.submit_and_run(0, limits::completion_batch_max) > 0)
            return true;
        if (monotonic_ns() >= deadline_ns) return false;
        cpu_relax();
    }
}

void Shard::request_stop() {
    stop_requested_.store(true);
    grid_.wake(id_.value);
}

void Shard::release_accepts() {
    accepts_released_.store(true);
    grid_.wake(id_.value);
}

void Shard::close_for_catalog() {
    std::vector<core::ConnectionClosure> closures = broker_->catalog().take_closures();
    if (closures.empty()) return;
    for (auto& connection : connections_) {
        if (!connection) continue;
        for (const core::ConnectionClosure& closure : closures) {
            if (connection->close_if_affected(closure)) break;
        }
    }
}

void Shard::run() {
    LEPUS_LOG(debug, "shard running");
    idle_watch_ = IdleWatch(monotonic_ms());
    for (;;) {
        context_->now_ms = monotonic_ms();
        poll_journals();
        if (stop_requested_.load(std::memory_order_relaxed) && !stopping_) begin_shutdown();
        if (accept_state_ == AcceptState::held && accepts_released_.load()) [[unlikely]] {
            resume_accepting();
        }
        // Timers run on the monotonic clock; the wall clock only stamps x-death headers.
        broker_->advance_time(context_->now_ms, clock_ms(CLOCK_REALTIME));
        // What the connections received, before the mailboxes: publishes routed to queues on
        // this shard are dispatched in the same turn, and other shards get this turn's work
        // with its flush.
        if (!context_->input_turns.empty()) {
            context_->input_turns.serve(limits::turn_input_budget, connections_);
            idle_watch_.note_work();
        }
        if (drain_mailboxes()) idle_watch_.note_work();
        close_for_catalog();
        run_timers();
        // Output of this turn: each connection's frames in one send.
        std::vector<Connection*>& flush_list = context_->flush_list;
        for (usize i = 0; i < flush_list.size(); i++) flush_list[i]->flush();
        flush_list.clear();
        flush_journals();
        flush_outbox();
        if (!context_->terminated_slots.empty()) reap_connections();
        if (stopping_ && live_connections_ == 0 && !accepts_in_flight() && !journals_busy() &&
            !(admin_ && admin_->busy()) && !(management_ && management_->busy())) {
            break;
        }

        bool idle = local_.empty() && !ring_.has_completions() && !grid_.has_incoming(id_.value) &&
                    context_->input_turns.empty();
        for (auto& pending : pending_) idle = idle && pending.empty();
        if (idle && options_.busy_poll_us > 0 && !stopping_ && busy_poll()) {
            idle = false;
            idle_watch_.note_work();
        }
        u32 timeout = 0;
        if (idle) {
            grid_.set_sleeping(id_.value, true);
            if (!grid_.has_incoming(id_.value)) {
                timeout = limits::tick_interval_ms;
                u64 deadline = std::min(
                    {broker_->next_deadline_ms(), journal_deadline_ms(), accept_deadline_ms()});
                u64 now = context_->now_ms;
                if (deadline <= now) {
                    timeout = 0;
                } else if (deadline - now < timeout) {
                    timeout = static_cast<u32>(deadline - now);
                }
            }
        }
        // The clock is read around waits only, never on a busy turn. After a wait it is read
        // again before the callbacks run: a connection accepted after a quarter-second sleep
        // must not start its handshake deadline a quarter second in the past.
        u64 wait_started_ns = timeout > 0 ? monotonic_ns() : 0;
        ring_.submit_and_wait(timeout);
        if (timeout > 0) {
            u64 woke_ns = monotonic_ns();
            idle_watch_.note_asleep_ns(woke_ns - wait_started_ns);
            context_->now_ms = woke_ns / 1'000'000;
        }
        if (ring_.run_completions(completion_batch()) > 0) idle_watch_.note_work();
        grid_.set_sleeping(id_.value, false);
    }
    // Everything written reaches the disk before the shard goes: a clean stop loses nothing.
    if (journal_) journal_->drain();
    if (id_ == ShardId(0) && durability_.definitions_journal != nullptr)
        durability_.definitions_journal->drain();
    LEPUS_LOG(debug, "shard stopped");
}

}  // namespace lepus::server
