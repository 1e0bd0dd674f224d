#pragma once
// A shard is a small program on one pinned thread: one io_uring, one listener (SO_REUSEPORT,
// so the kernel spreads new connections over shards with no hand-off between them), its
// connections, its part of the broker, and its side of the rings to the other shards.
//
// One loop turn: run completions; drain the mailboxes (bounded); let queues dispatch; run
// timers; send each connection's output in one sendmsg; push outgoing shard messages; sleep in
// io_uring until a completion, a wake-up or the next timer.
#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/base/ring_deque.h"
#include "core/broker.h"
#include "core/chunk.h"
#include "core/message.h"
#include "net/admin/endpoint.h"
#include "net/io/buffer_ring.h"
#include "net/io/ring.h"
#include "net/management/api.h"
#include "net/management/http_server.h"
#include "net/server/connection.h"
#include "net/server/disk_journal.h"
#include "net/server/disk_monitor.h"
#include "net/server/exit_code.h"
#include "net/server/idle_watch.h"
#include "net/server/listener.h"
#include "net/server/memory_monitor.h"
#include "net/server/options.h"
#include "net/server/shard_context.h"
#include "net/server/shard_grid.h"
#include "net/tls/context.h"

namespace lepus::server {

// What a shard starts from when the broker keeps data on disk. The server reads the
// definitions journal before any shard starts, so every shard restores the same catalog, then
// hands that journal to shard 0, the only writer of definitions.
struct ShardDurability {
    std::string data_dir;  // empty: nothing is kept on disk
    persist::JournalOptions journal_options;
    const std::vector<core::CatalogUpdate>* definitions = nullptr;
    DiskJournal* definitions_journal = nullptr;       // shard 0
    core::DefinitionsLog* definitions_log = nullptr;  // shard 0
    u64 queue_id_base = 1;                            // shard 0
};

class Shard : public core::Outbox {
public:
    Shard(ShardId id, ShardGrid& grid, const Options& options);
    ~Shard() override;
    Shard(const Shard&) = delete;
    Shard& operator=(const Shard&) = delete;

    // Before init: where data lives and what the server recovered.
    void set_durability(ShardDurability durability) { durability_ = std::move(durability); }
    // Before init: where to listen, the listening sockets the server opened first (shard 0:
    // one per address, which it then owns; the others open their own), and this shard's own
    // TLS context (null when no listener speaks TLS).
    void set_listeners(const std::vector<ListenAddress>* addresses, std::vector<int> first_fds,
                       std::unique_ptr<tls::Context> tls) {
        addresses_ = addresses;
        first_fds_ = std::move(first_fds);
        tls_ = std::move(tls);
    }
    // Before init, shard 0 only: the administration socket's listening descriptor
    // (net/admin), which the shard then owns and serves.
    void set_admin_socket(int fd) { admin_fd_ = fd; }
    // Shard 0 only: the management API's listening socket, served once init runs.
    void set_management_socket(int fd) { management_fd_ = fd; }
    // Sets up the ring, buffers and journal (recovering this shard's queues), then the
    // listener, on the calling thread.
    StartError init();
    // The loop; returns after request_stop() once every connection is closed.
    void run();
    // From any thread.
    void request_stop();
    // Before init: accept no connection until release_accepts() (definitions loaded at boot
    // come first, as RabbitMQ imports them before its listeners start).
    void hold_accepts() { accepts_released_.store(false); }
    // From any thread: accept connections from now on.
    void release_accepts();

    // core::Outbox: messages to any shard, this one included.
    void send(ShardId to, core::ShardMessage message) override;

private:
    void flush_outbox();
    // Resumes the paused connections whose back-pressure has ended; returns how many.
    usize resume_paused();
    // The same, when `lifted` (a throttle or the memory alarm just ended) or when some queue's
    // pressure ended since the last look.
    void resume_if_lifted(bool lifted);
    // Shard 0: reads the resident memory and raises or clears the memory alarm.
    void check_memory();
    // Shard 0: reads the data directory's free space (once a second) and raises or clears
    // the disk alarm.
    void check_disk();
    StartError open_journal();
    // Journal progress: the journals' completions ran as the ring was reaped; here confirms
    // and replies that waited for the disk are released (and a failed write stops the broker).
    void poll_journals();
    // This turn's records, written as one group per journal.
    void flush_journals();
    bool journals_busy() const;
    // With --journal-flush-ms: when held records must be written, or UINT64_MAX.
    u64 journal_deadline_ms() const;
    bool drain_mailboxes();
    // Closes the connections whose vhost or user the catalog's latest changes deleted.
    void close_for_catalog();
    // Completions to take this turn: all that are ready while the connections' inboxes hold
    // less than limits::shard_inbox_high.
    u32 completion_batch() const;
    // Polls mailboxes and ring for up to options_.busy_poll_us; true when work turned up.
    bool busy_poll();
    void deliver(core::ShardMessage message);
    // An administration query from shard 0's endpoint: rows from this shard's queues or
    // connections, or connections closed (shard_admin.cc).
    void answer_admin_query(const core::AdminQuery& query);
    // Each vhost's message_stats and each exchange's publish counts on this shard.
    nlohmann::json stats_rows() const;
    // Shard 0: what the status command reports of the node.
    nlohmann::json node_status() const;
    // One listening socket of this shard and its multishot accept.
    struct Listener {
        Shard* shard = nullptr;
        const ListenAddress* address = nullptr;
        int fd = -1;
        io::Completion accept;
    };
    void arm_accept(Listener& listener);
    void arm_accepts();
    void cancel_accepts();
    bool accepts_in_flight() const;
    void arm_wakeup();
    static void on_accept(io::Completion& completion, i32 result, u32 flags);
    // An accept failed with `error` (an errno). Unless the failure used up the connection it was
    // for, accepting pauses for limits::accept_pause_ms, since a retry would fail at once on the
    // same connection.
    void accept_failed(int error);
    // When a pause is over; accepting again.
    void resume_accepting();
    // The accept failures not yet logged, in one line, once its interval has passed.
    void report_accept_failures();
    // When a pause of accepting ends, or UINT64_MAX.
    u64 accept_deadline_ms() const;
    static void on_wakeup(io::Completion& completion, i32 result, u32 flags);
    void accept_connection(int fd, const Listener& listener);
    // tcp_listen_options.recbuf and .sndbuf, when set.
    void set_buffer_sizes(int fd);
    void run_timers();
    // The pools' spare storage and the allocator's free pages go back to the kernel.
    void release_memory();
    void reap_connections();
    void begin_shutdown();
    Connection* find_connection(const core::ConnectionKey& key);

    ShardId id_;
    ShardGrid& grid_;
    const Options& options_;
    ChunkPool pool_;
    MessagePool message_pool_{limits::message_pool_free_max};
    io::Ring ring_;
    io::BufferRing buffers_;
    std::unique_ptr<core::Broker> broker_;
    ShardDurability durability_;
    std::unique_ptr<DiskJournal> journal_;
    u64 journal_flushed_ms_ = 0;  // when this shard's journal was last written
    std::unique_ptr<ShardContext> context_;
    const std::vector<ListenAddress>* addresses_ = nullptr;
    std::vector<int> first_fds_;  // shard 0, until init takes them into listeners_
    std::unique_ptr<tls::Context> tls_;
    // Stable addresses: each accept completion points at its Listener.
    std::vector<std::unique_ptr<Listener>> listeners_;
    enum class AcceptState : u8 { accepting, paused, held };
    AcceptState accept_state_ = AcceptState::accepting;
    u64 accept_resume_ms_ = 0;  // when a pause ends
    // Failures counted since the last line about them (see report_accept_failures).
    struct AcceptFailures {
        u32 count = 0;
        int error = 0;      // the last one's errno
        u64 first_ms = 0;   // when the first of them happened
        u64 logged_ms = 0;  // when the last line was written; 0: never
    };
    AcceptFailures accept_failures_;
    io::Completion wakeup_completion_;
    u64 wakeup_value_ = 0;

    std::vector<std::unique_ptr<Connection>> connections_;  // by slot
    std::vector<u32> generations_;
    std::vector<u32> free_slots_;
    u32 live_connections_ = 0;

    RingDeque<core::ShardMessage> local_;                 // to this shard itself
    std::vector<RingDeque<core::ShardMessage>> pending_;  // per destination, not yet in a ring

    std::atomic<bool> stop_requested_{false};
    std::atomic<bool> accepts_released_{true};  // see hold_accepts
    bool stopping_ = false;
    u64 stop_started_ms_ = 0;
    u64 last_tick_ms_ = 0;
    u64 seen_pressure_lifts_ = 0;  // broker's pressure_lifts() when paused connections were checked
    bool seen_memory_alarm_ = false;  // the broker's resource_alarm() at the last look
    std::unique_ptr<MemoryMonitor> memory_monitor_;  // shard 0 only
    std::unique_ptr<DiskMonitor> disk_monitor_;      // shard 0 only, when a limit is set
    IdleWatch idle_watch_{0};                        // restarted when the loop starts
    int admin_fd_ = -1;                              // until init hands it to admin_
    int management_fd_ = -1;                         // until init hands it to management_
    // Shard 0 only. The management API asks the endpoint; the endpoint's answers go to the
    // server's connections, so the server outlives the endpoint (members go in reverse).
    std::unique_ptr<management::HttpServer> management_;
    std::unique_ptr<management::Api> management_api_;
    std::unique_ptr<admin::Endpoint> admin_;
    u64 started_wall_ms_ = 0;
};

}  // namespace lepus::server
