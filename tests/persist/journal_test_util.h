#pragma once
// Helpers shared by the journal tests: small segments and writes so a few records exercise
// rotation and group commit, and a recovery that collects what it visits.
#include <string>
#include <vector>

#include "persist/journal.h"
#include "persist/memory_storage.h"

namespace lepus::persist::testing {

inline JournalOptions small_options() {
    JournalOptions options;
    options.segment_size = 64 * 1024;
    options.write_size_max = 8 * 1024;
    options.writes_in_flight_max = 2;
    return options;
}

struct Visited {
    u8 kind = 0;
    u64 sequence = 0;
    Location location;
    std::string payload;
};

struct Recovery {
    Journal::RecoveryReport report;
    std::vector<Visited> records;
};

inline Recovery recover_all(Journal& journal) {
    Recovery recovery;
    recovery.report = journal.recover(
        [&](u8 kind, u64 sequence, const Location& location, std::string_view payload) {
            recovery.records.push_back(Visited{kind, sequence, location, std::string(payload)});
        });
    return recovery;
}

// Flushes and completes writes until nothing is buffered or in flight.
inline void settle(Journal& journal, MemoryStorage& storage) {
    for (int turn = 0; turn < 10000 && journal.busy(); turn++) {
        journal.flush();
        storage.wait();
        storage.poll();
    }
}

inline std::string payload_for(u64 sequence, usize length) {
    std::string payload(length, '\0');
    for (usize i = 0; i < length; i++) payload[i] = static_cast<char>('a' + (sequence + i) % 26);
    return payload;
}

}  // namespace lepus::persist::testing
