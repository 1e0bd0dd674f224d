#pragma once
// A producer: one connection, one channel, publishing pre-encoded messages. The method,
// content header and body frames of one message are encoded once into a template and copied
// into a batch buffer; publishing patches the send timestamp and sequence number in place and
// hands a whole batch to the kernel with one send. Nothing is allocated per message.
//
// With --confirm, delivery tags index a ring of send times sized to twice the window, so a
// basic.ack (single or multiple) settles tags and records confirm latency without searching.
//
// Owned by main; driven by the producer thread (run_producers) during the measurement.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "bench/perf/connection.h"
#include "bench/perf/histogram.h"
#include "bench/perf/options.h"

namespace lepus::perf {

inline constexpr usize batch_bytes_target = 256 * 1024;
inline constexpr usize batch_messages_max = 4096;
// At rates above this, messages go out in batches every tick rather than one at a time.
inline constexpr u64 rate_tick_ns = 100 * 1000;

// Counters the main thread reads for progress lines while the producer thread runs.
struct ProducerCounters {
    std::atomic<u64> published{0};
    // Messages of the last batch that never went out whole: the broker read nothing from
    // this producer for the whole grace after publishing ended. Not counted as published.
    std::atomic<u64> unsent{0};
    std::atomic<u64> confirmed{0};
    std::atomic<u64> nacked{0};
    std::atomic<u64> last_publish_ns{0};
    std::atomic<u64> last_confirm_ns{0};
};

class Producer {
public:
    enum class State : u8 { publishing, settling, finished, failed };

    Producer(const Options& options, u32 id, Connection& connection);

    // Main thread, before the measurement: confirm.select, the message template.
    bool prepare();
    // Sets when publishing starts (staggered per producer for fixed rates) and must end.
    void start(u64 start_ns, u64 deadline_ns);

    // Producer thread. on_readable reads acks and broker closes; pump publishes what is due
    // and returns when it next wants to run: 0 for at once, UINT64_MAX for on an event only.
    void on_readable(u64 now);
    void on_writable() { writable_ = true; }
    u64 pump(u64 now);
    // Stops publishing (the run is over); confirms still in flight get `grace_ns` to arrive.
    void stop_publishing(u64 now);

    State state() const { return state_; }
    u32 id() const { return id_; }
    Connection& connection() { return connection_; }
    ProducerCounters& counters() { return counters_; }
    const Histogram& confirm_latency() const { return confirm_latency_; }
    u64 published() const { return published_; }

private:
    usize due_messages(u64 now) const;
    void fill(usize messages, u64 now);
    bool flush();
    void settle(u64 tag, bool multiple, bool ack, u64 now);
    bool parse_input(u64 now);
    void check_settled(u64 now);
    // Finishing with part of the last batch unwritten: takes its messages back out of the
    // published count, since no consumer can ever see them.
    void withdraw_unsent();

    const Options& options_;
    u32 id_;
    Connection& connection_;
    State state_ = State::publishing;
    ProducerCounters counters_;

    // One encoded message and where its timestamp and sequence words sit.
    std::string message_;
    usize timestamp_offset_ = 0;
    usize message_count_per_batch_ = 1;
    std::unique_ptr<char[]> batch_;
    usize batch_size_ = 0;  // bytes filled
    usize batch_sent_ = 0;
    usize batch_messages_ = 0;  // in the batch filled last
    bool writable_ = true;
    bool heartbeat_owed_ = false;
    // The copy whose first bytes the last heartbeat replaced, or no_slot.
    static constexpr usize no_slot = ~usize{0};
    usize heartbeat_overwrote_ = no_slot;

    u64 published_ = 0;
    u64 settled_ = 0;           // acked + nacked
    u64 low_water_ = 0;         // every tag up to here is settled
    std::vector<u64> sent_ns_;  // by tag & mask; 0 once settled
    u64 ring_mask_ = 0;
    Histogram confirm_latency_;

    u64 start_ns_ = 0;
    u64 deadline_ns_ = 0;  // 0 = none
    u64 settle_deadline_ns_ = 0;
    double interval_ns_ = 0;
    u64 last_fill_ns_ = 0;
};

// The producer thread: drives every producer with one epoll until all have finished or `stop`
// is set. Returns once all producers are finished or failed. `publishing_end_ns` gets the time
// the last producer stopped publishing, before confirms still in flight are waited for: the
// end of the publishing phase the consumers' figures are split at.
void run_producers(std::vector<Producer*>& producers, const Options& options,
                   std::atomic<bool>& stop, std::atomic<u64>& publishing_end_ns);

}  // namespace lepus::perf
