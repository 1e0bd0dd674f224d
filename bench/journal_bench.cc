// The journal on the real disk: O_DIRECT|DSYNC writes on an io_uring (io::SegmentStorage on an
// io::Ring, as a shard runs them) in a temporary directory under /tmp (removed afterwards),
// with 8 MiB segments so runs stay short.
//   BM_append_group_commit/<record bytes>/<records per flush>: durable appends; items/s is
//     records made durable per second, bytes/s their payload.
//   BM_durable_write/<bytes>: the latency of one durable write of that size.
// Run: build/test/bench/journal_bench
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "core/base/limits.h"
#include "net/io/ring.h"
#include "net/io/segment_storage.h"
#include "persist/journal.h"

namespace lepus::persist {
namespace {

struct TempJournal {
    std::string directory;
    io::Ring ring;
    io::SegmentStorage storage;
    std::unique_ptr<Journal> journal;
    std::string error;

    explicit TempJournal(JournalOptions options) {
        char pattern[] = "/tmp/lepus-journal-bench-XXXXXX";
        if (mkdtemp(pattern) == nullptr) {
            error = "mkdtemp failed";
            return;
        }
        directory = pattern;
        error = storage.open(directory, options.writes_in_flight_max);
        if (!error.empty()) return;
        if (ring.init(limits::shard_ring_entries) < 0) {
            error = "io_uring set-up failed";
            return;
        }
        storage.bind(ring);
        journal = std::make_unique<Journal>(storage, options);
        journal->recover([](u8, u64, const Location&, std::string_view) {});
    }
    ~TempJournal() {
        journal.reset();
        if (!directory.empty()) std::filesystem::remove_all(directory);
    }
    void run_until_idle() {
        while (journal->busy()) {
            journal->flush();
            storage.wait();
        }
    }
};

JournalOptions bench_options() {
    JournalOptions options;
    options.segment_size = 8u << 20;
    return options;
}

void BM_append_group_commit(benchmark::State& state) {
    const auto record_bytes = static_cast<usize>(state.range(0));
    const auto per_flush = static_cast<int>(state.range(1));
    TempJournal temp(bench_options());
    if (!temp.error.empty()) return state.SkipWithError(temp.error.c_str());
    std::string payload(record_bytes, 'x');
    for (auto _ : state) {
        for (int i = 0; i < per_flush; i++) {
            // Nothing retains: segments are recycled as they fill, as in a steady broker.
            temp.journal->append(1, payload);
        }
        temp.journal->flush();
        temp.storage.wait();
    }
    temp.run_until_idle();
    if (temp.journal->failed()) state.SkipWithError("journal write failed");
    state.SetItemsProcessed(state.iterations() * per_flush);
    state.SetBytesProcessed(state.iterations() * per_flush * static_cast<i64>(record_bytes));
}
BENCHMARK(BM_append_group_commit)
    ->ArgsProduct({{256, 1024}, {1, 64, 1024}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

void BM_durable_write(benchmark::State& state) {
    const auto bytes = static_cast<usize>(state.range(0));
    JournalOptions options = bench_options();
    options.writes_in_flight_max = 1;
    TempJournal temp(options);
    if (!temp.error.empty()) return state.SkipWithError(temp.error.c_str());
    // One record filling the write, less its header.
    std::string payload(bytes - record_header_size, 'x');
    for (auto _ : state) {
        temp.journal->append(1, payload);
        temp.run_until_idle();
    }
    if (temp.journal->failed()) state.SkipWithError("journal write failed");
    state.SetBytesProcessed(state.iterations() * static_cast<i64>(bytes));
}
BENCHMARK(BM_durable_write)
    ->Arg(4096)
    ->Arg(64 * 1024)
    ->Arg(1 << 20)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace lepus::persist
