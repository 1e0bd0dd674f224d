// lepus-perf: an AMQP 0-9-1 load generator in the spirit of RabbitMQ's PerfTest, using Lepus's
// own codec. See bench/perf/README.md.
//
// Threads: one for all producers and one for all consumers, each driving its connections with
// edge-triggered epoll, plus main, which sets up, prints a line a second and reports. The
// machines this runs on have two cores shared with the broker under test: a thread per
// connection would spend them on context switches, and two busy threads already let
// publishing and consuming proceed in parallel while batching keeps each one's cost per
// message small.
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/perf/connection.h"
#include "bench/perf/consumer.h"
#include "bench/perf/options.h"
#include "bench/perf/producer.h"
#include "core/wire/field_table.h"

namespace lepus::perf {
namespace {

std::atomic<bool> interrupted{false};

void on_signal(int) { interrupted.store(true); }

void pin_thread(const std::vector<int>& cpus, usize which) {
    if (cpus.empty()) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpus[which % cpus.size()], &set);
    ::pthread_setaffinity_np(::pthread_self(), sizeof(set), &set);
}

double cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double rate(u64 count, u64 start_ns, u64 end_ns) {
    if (count == 0 || end_ns <= start_ns) return 0;
    return static_cast<double>(count) * 1e9 / static_cast<double>(end_ns - start_ns);
}

double us(u64 ns) { return static_cast<double>(ns) / 1000.0; }

int fail(const std::string& what, const std::string& why) {
    std::fprintf(stderr, "lepus-perf: %s: %s\n", what.c_str(), why.c_str());
    return 1;
}

// The queues, exchange and bindings, declared up front on their own connection.
bool declare_topology(Connection& setup, const Options& options) {
    if (!options.exchange.empty()) {
        amqp::ExchangeDeclare declare;
        declare.exchange = options.exchange;
        declare.type = exchange_type_name(options.exchange_type);
        declare.durable = options.durable;
        // amq.* exchanges exist already and may not be declared by clients other than passively.
        declare.passive = options.exchange.starts_with("amq.");
        amqp::ExchangeDeclareOk declared;
        if (!setup.call(declare, declared)) return false;
    }
    std::string match_arguments;
    for (u32 q = 0; q < options.queues; q++) {
        std::string name = options.queue_name(q);
        amqp::QueueDeclare declare;
        declare.queue = name;
        declare.durable = options.durable;
        amqp::QueueDeclareOk declared;
        if (!setup.call(declare, declared)) return false;
        // Messages a previous run left behind would count as foreign and skew the rates; a run
        // without producers is there to drain them.
        if (options.producers > 0) {
            amqp::QueuePurge purge;
            purge.queue = name;
            amqp::QueuePurgeOk purged;
            if (!setup.call(purge, purged)) return false;
        }
        if (options.exchange.empty()) continue;
        amqp::QueueBind bind;
        bind.queue = name;
        bind.exchange = options.exchange;
        bind.routing_key = name;
        if (options.exchange_type == ExchangeType::headers) {
            match_arguments = wire::field_table_content({
                {"x-match", wire::FieldValue::string("all")},
                {"queue", wire::FieldValue::string(name)},
            });
            bind.arguments = match_arguments;
        }
        amqp::QueueBindOk bound;
        if (!setup.call(bind, bound)) return false;
    }
    return true;
}

bool delete_topology(Connection& setup, const Options& options) {
    for (u32 q = 0; q < options.queues; q++) {
        std::string name = options.queue_name(q);
        amqp::QueueDelete remove;
        remove.queue = name;
        amqp::QueueDeleteOk removed;
        if (!setup.call(remove, removed)) return false;
    }
    if (!options.exchange.empty() && !options.exchange.starts_with("amq.")) {
        amqp::ExchangeDelete remove;
        remove.exchange = options.exchange;
        amqp::ExchangeDeleteOk removed;
        if (!setup.call(remove, removed)) return false;
    }
    return true;
}

struct Totals {
    u64 sent = 0;
    u64 unsent = 0;
    u64 confirmed = 0;
    u64 nacked = 0;
    u64 last_publish_ns = 0;
    u64 last_confirm_ns = 0;
};

Totals sum_producers(std::vector<std::unique_ptr<Producer>>& producers) {
    Totals totals;
    for (auto& producer : producers) {
        ProducerCounters& counters = producer->counters();
        totals.sent += counters.published.load(std::memory_order_relaxed);
        totals.unsent += counters.unsent.load(std::memory_order_relaxed);
        totals.confirmed += counters.confirmed.load(std::memory_order_relaxed);
        totals.nacked += counters.nacked.load(std::memory_order_relaxed);
        totals.last_publish_ns = std::max(totals.last_publish_ns,
                                          counters.last_publish_ns.load(std::memory_order_relaxed));
        totals.last_confirm_ns = std::max(totals.last_confirm_ns,
                                          counters.last_confirm_ns.load(std::memory_order_relaxed));
    }
    return totals;
}

// Deliveries the consumers should see for what was published so far: each message once per
// consumed queue it routes to (fanout reaches several).
u64 deliveries_owed(std::vector<std::unique_ptr<Producer>>& producers, const Options& options,
                    const std::vector<bool>& consumed_queues) {
    u64 owed = 0;
    for (auto& producer : producers) {
        u64 sent = producer->counters().published.load();
        for (u32 q = 0; q < options.queues; q++) {
            if (consumed_queues[q] && options.routes_to(producer->id(), q)) owed += sent;
        }
    }
    return owed;
}

std::string grouped(double value) {
    std::string digits = std::to_string(static_cast<u64>(value + 0.5));
    std::string out;
    for (usize i = 0; i < digits.size(); i++) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return out;
}

struct Summary {
    Totals totals;
    u64 received = 0;
    u64 redelivered = 0;
    u64 gaps = 0;
    u64 duplicates = 0;
    u64 foreign = 0;
    double publish_rate = 0;
    double confirm_rate = 0;
    double consume_rate = 0;
    // The publishing phase only (start to the moment the producers stopped), without the
    // drain: 0 unless the run both publishes and consumes.
    double consume_rate_publishing = 0;
    u64 backlog_at_publish_end = 0;
    double duration_s = 0;
    double cpu_s = 0;
    Histogram latency;
    Histogram latency_publishing;
    Histogram confirm_latency;
    std::vector<std::string> per_producer;  // lines for producers with gaps or duplicates
    std::string per_producer_json;
};

// The consumers while the producers ran, apart from the drain the whole-run lines include.
void print_publishing_phase(FILE* out, const Summary& s) {
    std::fprintf(out, "  while publishing:\n");
    std::fprintf(out, "    consume  %12s msg/s  (backlog %llu when publishing stopped)\n",
                 grouped(s.consume_rate_publishing).c_str(),
                 static_cast<unsigned long long>(s.backlog_at_publish_end));
    std::fprintf(out, "    latency  p50 %.1f us  p99 %.1f us\n",
                 us(s.latency_publishing.quantile(0.5)), us(s.latency_publishing.quantile(0.99)));
}

void print_summary(FILE* out, const Options& options, const Summary& s) {
    u64 moved = std::max(s.totals.sent, s.received);
    std::fprintf(out, "summary: %.2f s\n", s.duration_s);
    std::fprintf(out, "  publish  %12s msg/s  (%llu sent)\n", grouped(s.publish_rate).c_str(),
                 static_cast<unsigned long long>(s.totals.sent));
    if (options.confirm > 0) {
        std::fprintf(out, "  confirm  %12s msg/s  (%llu confirmed, %llu nacked)\n",
                     grouped(s.confirm_rate).c_str(),
                     static_cast<unsigned long long>(s.totals.confirmed),
                     static_cast<unsigned long long>(s.totals.nacked));
        std::fprintf(out, "  confirm latency  p50 %.1f us  p99 %.1f us\n",
                     us(s.confirm_latency.quantile(0.5)), us(s.confirm_latency.quantile(0.99)));
    }
    if (options.consumers > 0) {
        std::fprintf(out, "  consume  %12s msg/s  (%llu received, %llu redelivered)\n",
                     grouped(s.consume_rate).c_str(), static_cast<unsigned long long>(s.received),
                     static_cast<unsigned long long>(s.redelivered));
        std::fprintf(out, "  latency  p50 %.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us\n",
                     us(s.latency.quantile(0.5)), us(s.latency.quantile(0.99)),
                     us(s.latency.quantile(0.999)), us(s.latency.max()));
        if (options.producers > 0) print_publishing_phase(out, s);
        std::fprintf(out, "  gaps %llu  duplicates %llu", static_cast<unsigned long long>(s.gaps),
                     static_cast<unsigned long long>(s.duplicates));
        if (s.foreign > 0) {
            std::fprintf(out, "  foreign %llu", static_cast<unsigned long long>(s.foreign));
        }
        std::fprintf(out, "\n");
        for (const std::string& line : s.per_producer) std::fprintf(out, "    %s\n", line.c_str());
    }
    if (s.totals.unsent > 0) {
        std::fprintf(out,
                     "  unsent %llu: messages that never went out whole, because the broker read "
                     "nothing from their producer for the whole grace after publishing ended\n",
                     static_cast<unsigned long long>(s.totals.unsent));
    }
    std::fprintf(out, "  lepus-perf cpu %.2f s (%.3f s per million messages)\n", s.cpu_s,
                 moved > 0 ? s.cpu_s * 1e6 / static_cast<double>(moved) : 0.0);
}

void print_json(const Options& options, const Summary& s) {
    u64 moved = std::max(s.totals.sent, s.received);
    std::printf(
        "{\"publish_rate\":%.1f,\"confirm_rate\":%.1f,\"consume_rate\":%.1f,"
        "\"consume_rate_publishing\":%.1f,"
        "\"sent\":%llu,\"unsent\":%llu,\"confirmed\":%llu,\"nacked\":%llu,\"received\":%llu,"
        "\"redelivered\":%llu,\"backlog_at_publish_end\":%llu,"
        "\"latency_us\":{\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},"
        "\"latency_us_publishing\":{\"p50\":%.1f,\"p99\":%.1f},"
        "\"confirm_latency_us\":{\"p50\":%.1f,\"p99\":%.1f},"
        "\"gaps\":%llu,\"duplicates\":%llu,\"foreign\":%llu,\"duration_s\":%.3f,"
        "\"cpu_s\":%.3f,\"cpu_s_per_million\":%.4f,"
        "\"producers\":%u,\"consumers\":%u,\"queues\":%u,\"size\":%u,\"per_producer\":[%s]}\n",
        s.publish_rate, s.confirm_rate, s.consume_rate, s.consume_rate_publishing,
        static_cast<unsigned long long>(s.totals.sent),
        static_cast<unsigned long long>(s.totals.unsent),
        static_cast<unsigned long long>(s.totals.confirmed),
        static_cast<unsigned long long>(s.totals.nacked),
        static_cast<unsigned long long>(s.received), static_cast<unsigned long long>(s.redelivered),
        static_cast<unsigned long long>(s.backlog_at_publish_end), us(s.latency.quantile(0.5)),
        us(s.latency.quantile(0.99)), us(s.latency.quantile(0.999)), us(s.latency.max()),
        us(s.latency_publishing.quantile(0.5)), us(s.latency_publishing.quantile(0.99)),
        us(s.confirm_latency.quantile(0.5)), us(s.confirm_latency.quantile(0.99)),
        static_cast<unsigned long long>(s.gaps), static_cast<unsigned long long>(s.duplicates),
        static_cast<unsigned long long>(s.foreign), s.duration_s, s.cpu_s,
        moved > 0 ? s.cpu_s * 1e6 / static_cast<double>(moved) : 0.0, options.producers,
        options.consumers, options.queues, options.size, s.per_producer_json.c_str());
    std::fflush(stdout);
}

int run(const Options& options) {
    FILE* progress = options.json ? stderr : stdout;
    pin_thread(options.cpus, 0);
    // Fixed-rate producers sleep in epoll for tens of microseconds: the default 50 us timer
    // slack would blur every interval.
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);

    Connection setup;
    if (!setup.open(options.uri, "lepus-perf setup"))
        return fail("set-up connection", setup.error());
    if (!declare_topology(setup, options))
        return fail("declaring queues and exchange", setup.error());

    std::vector<std::unique_ptr<Connection>> connections;
    std::vector<std::unique_ptr<Producer>> producers;
    for (u32 p = 0; p < options.producers; p++) {
        auto& connection = connections.emplace_back(std::make_unique<Connection>());
        connection->set_send_buffer(options.send_buffer);
        if (!connection->open(options.uri, "lepus-perf producer " + std::to_string(p))) {
            return fail("producer " + std::to_string(p), connection->error());
        }
        auto& producer =
            producers.emplace_back(std::make_unique<Producer>(options, p, *connection));
        if (!producer->prepare()) return fail("producer " + std::to_string(p), connection->error());
    }
    ConsumerShared shared(options);
    std::vector<std::unique_ptr<Consumer>> consumers;
    std::vector<bool> consumed_queues(options.queues, false);
    for (u32 c = 0; c < options.consumers; c++) {
        auto& connection = connections.emplace_back(std::make_unique<Connection>());
        if (!connection->open(options.uri, "lepus-perf consumer " + std::to_string(c))) {
            return fail("consumer " + std::to_string(c), connection->error());
        }
        auto& consumer =
            consumers.emplace_back(std::make_unique<Consumer>(options, c, *connection, shared));
        if (!consumer->prepare()) return fail("consumer " + std::to_string(c), connection->error());
        consumed_queues[consumer->queue()] = true;
    }

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    double cpu_before = cpu_seconds();
    u64 start_ns = now_ns() + 1000000;
    u64 deadline_ns =
        options.duration_s > 0 ? start_ns + static_cast<u64>(options.duration_s * 1e9) : 0;
    for (auto& producer : producers) producer->start(start_ns, deadline_ns);

    std::atomic<bool> stop_producers{false};
    std::atomic<bool> producers_done{false};
    std::atomic<bool> consumers_done{consumers.empty()};
    std::vector<Producer*> producer_list;
    for (auto& producer : producers) producer_list.push_back(producer.get());
    std::vector<Consumer*> consumer_list;
    for (auto& consumer : consumers) consumer_list.push_back(consumer.get());
    std::thread producer_thread([&] {
        pin_thread(options.cpus, 0);
        ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
        if (!producer_list.empty()) {
            run_producers(producer_list, options, stop_producers, shared.publishing_end_ns);
        }
        producers_done.store(true);
    });
    std::thread consumer_thread([&] {
        pin_thread(options.cpus, 1);
        if (!consumer_list.empty()) run_consumers(consumer_list, shared, start_ns);
        consumers_done.store(true);
    });

    // Main: a progress line a second, and the hand-over from publishing to draining.
    u64 second = 1;
    Totals previous;
    u64 previous_received = 0;
    bool drain_started = false;
    while (!(producers_done.load() && consumers_done.load())) {
        u64 report_ns = start_ns + second * 1000000000 + 5000000;
        while (now_ns() < report_ns && !(producers_done.load() && consumers_done.load())) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            bool failed = false;
            for (auto& consumer : consumers) failed |= consumer->state() == Consumer::State::failed;
            if (interrupted.load() || failed) stop_producers.store(true);
            if (producers_done.load() && !drain_started) {
                drain_started = true;
                u64 expected = deliveries_owed(producers, options, consumed_queues);
                bool producer_failed = false;
                for (auto& producer : producers) {
                    producer_failed |= producer->state() == Producer::State::failed;
                }
                // Interrupted: a short drain, so messages already on the wire are not
                // reported as gaps. A failed producer: no wait at all.
                u64 grace_ns = static_cast<u64>(options.grace_s * 1e9);
                if (interrupted.load()) grace_ns = std::min<u64>(grace_ns, 200000000);
                if (producer_failed) grace_ns = 0;
                // No producers: drain what the queues hold until nothing arrives for the grace.
                if (producers.empty()) expected = UINT64_MAX;
                shared.grace_ns.store(grace_ns);
                shared.stop_ns.store(now_ns());
                shared.expected.store(expected);
            }
        }
        if (producers_done.load() && consumers_done.load()) break;
        Totals totals = sum_producers(producers);
        u64 received = shared.received.load(std::memory_order_relaxed);
        if (!options.quiet) {
            std::string line = "[" + std::to_string(second) + "s] published " +
                               grouped(static_cast<double>(totals.sent - previous.sent)) + "/s";
            if (options.confirm > 0) {
                line += "  confirmed " +
                        grouped(static_cast<double>(totals.confirmed - previous.confirmed)) + "/s";
            }
            if (!consumers.empty()) {
                line += "  consumed " + grouped(static_cast<double>(received - previous_received)) +
                        "/s";
                if (shared.interval_index.load(std::memory_order_acquire) == second &&
                    shared.interval_count.load() > 0) {
                    char text[96];
                    std::snprintf(text, sizeof(text), "  latency p50 %.0f us  p99 %.0f us",
                                  us(shared.interval_p50_ns.load()),
                                  us(shared.interval_p99_ns.load()));
                    line += text;
                }
            }
            std::fprintf(progress, "%s\n", line.c_str());
            std::fflush(progress);
        }
        previous = totals;
        previous_received = received;
        second++;
    }
    producer_thread.join();
    consumer_thread.join();
    double cpu_s = cpu_seconds() - cpu_before;

    Summary summary;
    summary.totals = sum_producers(producers);
    summary.cpu_s = cpu_s;
    summary.received = shared.received.load();
    summary.redelivered = shared.redelivered;
    summary.latency.merge(shared.latency);
    summary.foreign = shared.tracker.foreign();
    for (auto& producer : producers) {
        summary.confirm_latency.merge(producer->confirm_latency());
        u64 sent = producer->counters().published.load();
        u64 gaps =
            consumers.empty() ? 0 : shared.tracker.gaps(producer->id(), sent, consumed_queues);
        u64 duplicates = shared.tracker.duplicates(producer->id());
        summary.gaps += gaps;
        summary.duplicates += duplicates;
        if (!summary.per_producer_json.empty()) summary.per_producer_json += ",";
        summary.per_producer_json += "{\"producer\":" + std::to_string(producer->id()) +
                                     ",\"sent\":" + std::to_string(sent) +
                                     ",\"gaps\":" + std::to_string(gaps) +
                                     ",\"duplicates\":" + std::to_string(duplicates) + "}";
        if (gaps > 0 || duplicates > 0) {
            summary.per_producer.push_back(
                "producer " + std::to_string(producer->id()) + ": sent " + std::to_string(sent) +
                ", gaps " + std::to_string(gaps) + ", duplicates " + std::to_string(duplicates));
        }
    }
    u64 last_receive_ns = shared.last_receive_ns.load();
    summary.publish_rate = rate(summary.totals.sent, start_ns, summary.totals.last_publish_ns);
    summary.confirm_rate = rate(summary.totals.confirmed, start_ns, summary.totals.last_confirm_ns);
    summary.consume_rate = rate(summary.received, start_ns, last_receive_ns);
    if (!producers.empty() && !consumers.empty()) {
        // Nothing is published after publishing_end_ns, so what is owed now was owed then.
        u64 owed = deliveries_owed(producers, options, consumed_queues);
        summary.consume_rate_publishing =
            rate(shared.received_publishing, start_ns, shared.publishing_closed_ns);
        summary.backlog_at_publish_end =
            owed > shared.received_publishing ? owed - shared.received_publishing : 0;
        summary.latency_publishing.merge(shared.latency_publishing);
    }
    u64 end_ns = std::max({summary.totals.last_publish_ns, summary.totals.last_confirm_ns,
                           summary.received > 0 ? last_receive_ns : 0, start_ns});
    summary.duration_s = static_cast<double>(end_ns - start_ns) / 1e9;

    // Errors first: a broker that closed a connection decides the exit code.
    std::string error;
    for (auto& producer : producers) {
        if (producer->state() == Producer::State::failed && error.empty()) {
            error = "producer " + std::to_string(producer->id()) + ": " +
                    producer->connection().error();
        }
    }
    for (usize c = 0; c < consumers.size(); c++) {
        if (consumers[c]->state() == Consumer::State::failed && error.empty()) {
            error = "consumer " + std::to_string(c) + ": " + consumers[c]->connection().error();
        }
    }
    for (auto& connection : connections) connection->close();
    if (error.empty() && !options.keep && !delete_topology(setup, options)) {
        error = "deleting queues: " + setup.error();
    }
    setup.close();

    if (options.json) {
        print_json(options, summary);
        if (!options.quiet) print_summary(stderr, options, summary);
    } else {
        print_summary(stdout, options, summary);
    }
    if (!error.empty()) {
        std::fprintf(stderr, "lepus-perf: %s\n", error.c_str());
        return 1;
    }
    return 0;
}

}  // namespace
}  // namespace lepus::perf

int main(int argc, char** argv) {
    lepus::perf::Options options;
    std::string help;
    std::string error;
    switch (lepus::perf::parse_options(argc, argv, options, help, error)) {
        case lepus::perf::ParseOutcome::exit_ok: std::fputs(help.c_str(), stdout); return 0;
        case lepus::perf::ParseOutcome::error:
            std::fprintf(stderr, "lepus-perf: %s\nTry 'lepus-perf --help'.\n", error.c_str());
            return 2;
        case lepus::perf::ParseOutcome::run: break;
    }
    return lepus::perf::run(options);
}
