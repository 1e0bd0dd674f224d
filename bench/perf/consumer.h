#pragma once
// Consumers: one connection and channel each, all driven by the consumer thread. Deliveries
// are parsed straight out of the receive buffer (method, content header, body frames), and
// only the first 16 body bytes are looked at: the send timestamp and the producer's sequence
// word. Acks with multiple=true are gathered into a small buffer and sent once per read turn.
//
// Everything the consumers share (the latency histograms, the sequence tracker) is touched by
// the consumer thread only; main reads it after that thread has been joined, except for the
// atomics in ConsumerShared.
#include <atomic>
#include <string>
#include <vector>

#include "bench/perf/connection.h"
#include "bench/perf/histogram.h"
#include "bench/perf/options.h"

namespace lepus::perf {

// Which sequence numbers each producer's messages reached each queue with: a bitmap per
// (queue, producer) pair that routes, grown by doubling, so gaps and duplicates are exact
// however many consumers share a queue and in whatever order messages arrive.
class SequenceTracker {
public:
    explicit SequenceTracker(const Options& options);

    // Returns false for a duplicate (the bit was already set).
    bool record(u32 queue, u64 word);

    // After the run, given what producer p sent: the sequences missing from every queue p's
    // messages should have reached (only queues with a consumer count).
    u64 gaps(u32 producer, u64 sent, const std::vector<bool>& consumed_queues) const;
    u64 duplicates(u32 producer) const { return duplicates_[producer]; }
    u64 unique() const { return unique_; }
    u64 foreign() const { return foreign_; }

private:
    struct Seen {
        std::vector<u64> bits;
        u64 count = 0;
    };
    const Options& options_;
    std::vector<Seen> seen_;  // queue * producers + producer
    std::vector<u64> duplicates_;
    u64 unique_ = 0;
    u64 foreign_ = 0;  // messages this run did not publish (left in a queue by an earlier run)
};

struct ConsumerShared {
    explicit ConsumerShared(const Options& options) : tracker(options) {}

    SequenceTracker tracker;
    Histogram latency;           // whole run, ns
    Histogram latency_interval;  // the current second
    u64 redelivered = 0;
    u64 duplicates = 0;

    // Read by main while the consumer thread runs.
    std::atomic<u64> received{0};
    std::atomic<u64> last_receive_ns{0};
    std::atomic<u64> interval_index{0};  // second k's percentiles are below once this is k
    std::atomic<u64> interval_p50_ns{0};
    std::atomic<u64> interval_p99_ns{0};
    std::atomic<u64> interval_count{0};
    // Set by main: how many unique messages to expect (once producers are done) and when to
    // give up waiting for them.
    std::atomic<u64> expected{~u64{0}};
    // Consumers stop after stop_ns once nothing arrived for grace_ns (a broker still draining
    // a backlog is given the time), and drain_max_ns after stop_ns whatever happens.
    std::atomic<u64> stop_ns{~u64{0}};
    std::atomic<u64> grace_ns{0};
    static constexpr u64 drain_max_ns = 120ull * 1000 * 1000 * 1000;

    // Set by the producer thread when the last producer stops publishing. The whole-run
    // figures include the drain of whatever backlog is left then, which hides consumers
    // starved while publishers ran flat out; these keep the publishing phase apart.
    std::atomic<u64> publishing_end_ns{~u64{0}};
    // What had arrived by then, taken by the consumer thread at the start of its first read
    // turn after publishing_end_ns (so to within one turn), or when it stops, if earlier;
    // publishing_closed_ns says when, so a rate over it counts and times the same interval.
    // A copy of `latency` taken once rather than a third record per message.
    Histogram latency_publishing;
    u64 received_publishing = 0;
    u64 publishing_closed_ns = 0;
    bool publishing_closed = false;
};

class Consumer {
public:
    enum class State : u8 { consuming, failed };

    Consumer(const Options& options, u32 id, Connection& connection, ConsumerShared& shared);

    // Main thread: basic.qos and basic.consume.
    bool prepare();

    // Consumer thread. on_readable returns true while more input may be waiting (its read
    // budget ran out before the socket was empty).
    bool on_readable(u64 now);
    void flush_acks();
    // Acks whatever is unacked, at the end of the run.
    void ack_rest();

    State state() const { return state_; }
    Connection& connection() { return connection_; }
    u32 queue() const { return queue_; }

private:
    enum class Expect : u8 { method, header, body };

    bool parse_input(u64 now);
    void on_message(u64 now);

    const Options& options_;
    u32 id_;
    u32 queue_;
    Connection& connection_;
    ConsumerShared& shared_;
    State state_ = State::consuming;

    Expect expect_ = Expect::method;
    u64 delivery_tag_ = 0;
    bool redelivered_ = false;
    u64 body_remaining_ = 0;
    u64 body_size_ = 0;
    char head_[body_size_min] = {};
    usize head_size_ = 0;

    u64 unacked_ = 0;
    u64 last_tag_ = 0;
    std::string acks_;  // encoded frames not yet sent
    usize acks_sent_ = 0;
};

// The consumer thread: drives every consumer with one epoll until the expected messages have
// arrived, the stop time has passed, or every consumer failed. Publishes each second's latency
// percentiles (seconds counted from start_ns) into `shared`, and what had arrived when
// publishing ended.
void run_consumers(std::vector<Consumer*>& consumers, ConsumerShared& shared, u64 start_ns);

}  // namespace lepus::perf
