#pragma once
// Durable definitions: which catalog changes are written to the definitions journal, the
// snapshot that keeps that journal small, and the replay that rebuilds them at start-up.
// Lives on shard 0 beside Metadata, the only writer of the catalog.
//
// What is durable, as in RabbitMQ: durable exchanges; durable queues that are not exclusive
// (an exclusive queue dies with its connection, so it never outlives a restart); bindings whose
// source exchange and destination are both durable. The amq.* exchanges and the default
// exchange are recreated with every vhost and are never written.
//
// The journal is a log of changes, so it grows with every declare and delete. Once it holds
// more than `limits::definitions_snapshot_ratio` times what a snapshot would take (and at least
// `limits::definitions_snapshot_threshold_bytes`), a snapshot of all durable definitions is written
// between snapshot_begin and snapshot_end records; once that is durable, the segments before it are
// released and the journal deletes them. Recovery ignores a snapshot without its end.
#include <memory>
#include <string>
#include <vector>

#include "core/catalog.h"
#include "core/journal_records.h"
#include "core/journal_sink.h"
#include "core/shard_message.h"

namespace lepus::core {

// Every durable definition of the catalog, as the updates that recreate it: exchanges first,
// then queues, then bindings (which need both ends).
void durable_definitions(const Catalog& catalog, std::vector<CatalogUpdate>& out);

// What a new data directory starts with, as RabbitMQ's default_user, default_pass,
// default_vhost and default_user_tags: the vhosts, and the user with every permission in each.
// Created on the first start only; after that the definitions journal rules.
struct DefaultAccess {
    std::string user = "guest";
    std::string password = "guest";
    std::vector<std::string> tags = {"administrator"};
    std::vector<std::string> vhosts = {"/"};
};
// The updates that create them (the password hashed with a fresh salt).
std::vector<CatalogUpdate> default_definitions(const DefaultAccess& defaults);

class DefinitionsLog {
public:
    explicit DefinitionsLog(JournalSink& journal) : journal_(journal) {}

    // Before `update` is applied to `catalog`: writes it when it touches durable things.
    // Returns the record's sequence, or 0 when nothing was written.
    u64 write(const Catalog& catalog, const CatalogUpdate& update);
    // Start-up: the segments recovery read, retained once each by the caller. They are released
    // once the first snapshot of this start is durable, which is written at the first
    // maintain() (the catalog then holds the recovered definitions).
    void adopt_recovered(const std::vector<u64>& segments);
    // The boot record of this start.
    u64 write_boot(u64 epoch);
    // After durable progress: snapshots when due, releases what a durable snapshot replaced.
    // Returns the sequence of the last record written, 0 if none.
    u64 maintain(const Catalog& catalog);
    u64 last_sequence() const { return last_sequence_; }

private:
    u64 append(RecordKind kind, std::string_view payload);
    void write_snapshot(const Catalog& catalog);

    JournalSink& journal_;
    std::string scratch_;
    std::vector<CatalogUpdate> definitions_;
    std::vector<u64> retained_;  // segments holding records, oldest first, one retain each
    u64 last_sequence_ = 0;
    u64 bytes_since_snapshot_ = 0;
    u64 snapshot_bytes_ = 0;
    // A snapshot written but not yet durable: its end record, and the first segment it is in.
    u64 snapshot_end_sequence_ = 0;
    u64 snapshot_first_segment_ = 0;
    u64 boot_epoch_ = 0;
    bool snapshot_requested_ = false;
};

struct RecoveredDefinitions {
    u64 epoch = 0;  // the highest boot epoch found; this start uses epoch + 1
    std::vector<CatalogUpdate> updates;
    usize skipped = 0;  // records that did not apply (unknown vhost, missing exchange)
};

// Replays the definitions journal in order: feed every record, then finish.
class DefinitionsReplay {
public:
    explicit DefinitionsReplay(const std::vector<std::string>& vhosts);
    void record(u8 kind, std::string_view payload);
    // Queues whose home shard no longer exists move to home % shard_count.
    RecoveredDefinitions finish(u32 shard_count);

private:
    bool apply(Catalog& catalog, const CatalogUpdate& update);
    std::unique_ptr<Catalog> fresh_catalog() const;

    std::vector<std::string> vhosts_;
    std::unique_ptr<Catalog> current_;
    std::unique_ptr<Catalog> snapshot_;  // being built between begin and end
    RecoveredDefinitions result_;
};

}  // namespace lepus::core
