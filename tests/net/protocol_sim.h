#pragma once
// The whole broker in one thread, for tests of the connection and channel state machines:
// the multi-shard broker simulation of tests/core/broker_sim.h, plus on every shard a real
// io_uring, receive buffers and real Connections, each on one end of a socketpair whose other
// end a test client holds. The client writes AMQP bytes; pump() runs the shards' rings, their
// sends and the cross-shard messages (in order or in a seeded interleaving) until everything
// is quiet; the client then reads what came back.
//
// Shard messages for channels reach their connection exactly as Shard::deliver hands them
// over, so a reply that arrives after its channel or connection went is settled by bounce().
//
// Transport::direct leaves the server out: each connection is a bare session::Session whose
// host is the test (direct_session.h), so a protocol test runs without a socket or a ring.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/base/limits.h"
#include "core/base/log.h"
#include "net/amqp/frame.h"
#include "net/io/buffer_ring.h"
#include "net/io/ring.h"
#include "net/server/connection.h"
#include "net/server/options.h"
#include "net/server/shard_context.h"
#include "net/session/bounce.h"
#include "tests/core/broker_sim.h"
#include "tests/net/direct_session.h"

namespace lepus::server::sim {

using core::sim::SimConfig;

// What carries a test client's bytes to its session: a socketpair into a real Connection, or
// nothing (the client calls the session itself).
enum class Transport : u8 { socket, direct };

// A client's end of a connection: a socket, or the session itself.
struct Endpoint {
    int fd = -1;
    DirectSession* direct = nullptr;
};
// One shard's edge: what a Shard owns besides its broker.
class SimShard {
public:
    SimShard(ShardId id, core::Broker& broker, core::Outbox& outbox, const Options& options,
             Transport transport)
        : transport_(transport), pool_(limits::recv_buffer_size, 64), buffers_(pool_, 64, 1) {
        EXPECT_EQ(ring_.init(256), 0);
        EXPECT_EQ(buffers_.init(ring_.raw()), 0);
        context_ = std::make_unique<ShardContext>(id, ring_, buffers_, broker, outbox, options);
        context_->random_state ^= u64{id.value + 1} << 40;
    }
    ~SimShard() {
        // Connections hold completions on the ring: end them and drain before the ring goes.
        for (auto& c : connections_) {
            if (c) c->terminate("test over");
        }
        for (int round = 0; round < 100 && live() > 0; round++) run_io();
        connections_.clear();
        direct_.clear();
    }

    ShardContext& context() { return *context_; }

    // A new connection; returns the client's end.
    Endpoint accept() {
        if (transport_ == Transport::direct) {
            u32 slot = static_cast<u32>(direct_.size());
            direct_.push_back(std::make_unique<DirectSession>(
                *context_, core::ConnectionKey{context_->shard, slot, 1}));
            return Endpoint{-1, direct_.back().get()};
        }
        return Endpoint{accept_socket(), nullptr};
    }

    // A new Connection on one end of a socketpair; returns the client's end.
    int accept_socket() {
        int fds[2];
        EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        sockaddr_storage peer{};
        auto& in = reinterpret_cast<sockaddr_in&>(peer);
        in.sin_family = AF_INET;
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // the default user logs in from loopback
        u32 slot = static_cast<u32>(connections_.size());
        connections_.push_back(std::make_unique<Connection>(*context_, fds[0], slot, 1, peer));
        connections_.back()->start();
        int flags = fcntl(fds[1], F_GETFL);
        fcntl(fds[1], F_SETFL, flags | O_NONBLOCK);
        return fds[1];
    }

    Connection* connection(u32 slot) {
        return slot < connections_.size() ? connections_[slot].get() : nullptr;
    }
    usize live() const {
        usize n = 0;
        for (const auto& c : connections_) n += c != nullptr;
        return n;
    }

    // As Shard::close_for_catalog: the connections of a vhost or user the catalog deleted.
    void close_for_catalog(core::Catalog& catalog_of_shard) {
        std::vector<core::ConnectionClosure> closures = catalog_of_shard.take_closures();
        for (const core::ConnectionClosure& closure : closures) {
            for (auto& d : direct_) {
                if (d) d->session().close_if_affected(closure);
            }
            for (auto& c : connections_) {
                if (c) c->close_if_affected(closure);
            }
        }
    }

    // As Shard::deliver: a message for a connection that is gone or closed is bounced.
    void deliver(core::ShardMessage message) {
        const core::ChannelKey* channel = core::channel_of(message);
        ASSERT_NE(channel, nullptr);
        const core::ChannelKey to = *channel;
        const core::ConnectionKey* key = &to.connection;
        if (transport_ == Transport::direct) {
            DirectSession* d = key->slot < direct_.size() ? direct_[key->slot].get() : nullptr;
            ASSERT_NE(d, nullptr);
            d->session().on_message(std::move(message), to);
            return;
        }
        Connection* c = connection(key->slot);
        if (c == nullptr || c->key().generation != key->generation ||
            c->state() == Connection::State::closed) {
            session::bounce(message, context_->outbox);
            return;
        }
        c->on_message(std::move(message), to);
    }

    // Submits, reaps, sends and frees finished connections once; true if anything happened.
    bool run_io() {
        if (transport_ == Transport::direct) {
            bool sent = false;
            for (auto& d : direct_) sent = d->flush() || sent;
            return sent;
        }
        bool progress = reap();
        if (!context_->input_turns.empty()) {
            serve_input_turn(limits::turn_input_budget);
            progress = true;
        }
        std::vector<Connection*> flush = std::move(context_->flush_list);
        context_->flush_list.clear();
        for (Connection* c : flush) c->flush();
        progress = progress || !flush.empty();
        std::vector<u32> terminated = std::move(context_->terminated_slots);
        context_->terminated_slots.clear();
        for (u32 slot : terminated) {
            if (connections_[slot] && connections_[slot]->done()) {
                connections_[slot].reset();
                progress = true;
            } else {
                context_->terminated_slots.push_back(slot);
            }
        }
        return progress;
    }

    // The two halves of run_io's input, apart, for tests of who is served in a turn: takes
    // every completion (received bytes only queue on their connections), then serves one turn
    // of input with `budget`.
    bool reap() { return ring_.submit_and_run(0, limits::completion_batch_max) > 0; }
    u64 serve_input_turn(u64 budget) { return context_->input_turns.serve(budget, connections_); }

    void tick(u64 now_ms) {
        context_->now_ms = now_ms;
        for (auto& c : connections_) {
            if (c) c->tick();
        }
        for (auto& d : direct_) d->session().tick(false);
    }

private:
    Transport transport_;
    ChunkPool pool_;
    io::Ring ring_;
    io::BufferRing buffers_;
    std::unique_ptr<ShardContext> context_;
    std::vector<std::unique_ptr<Connection>> connections_;  // by slot; never reused here
    std::vector<std::unique_ptr<DirectSession>> direct_;    // the same, for Transport::direct
};

class ProtocolSim {
public:
    explicit ProtocolSim(SimConfig config, Transport transport = Transport::socket)
        : config_(config), rng_(config.seed ^ 0x5eed), core_(config, options_.vhosts) {
        log::set_level(log::Level::error);
        options_.heartbeat_s = 0;
        for (u32 s = 0; s < config.shard_count; s++) {
            shards_.push_back(std::make_unique<SimShard>(ShardId(s), core_.broker(s),
                                                         core_.outbox(s), options_, transport));
        }
        core_.set_channel_sink([this](u32 shard, core::ShardMessage message) {
            shards_[shard]->deliver(std::move(message));
        });
    }
    ~ProtocolSim() {
        shards_.clear();  // before the brokers their contexts refer to
    }

    core::sim::Simulation& core() { return core_; }
    SimShard& shard(u32 s) { return *shards_.at(s); }
    u32 shard_count() const { return core_.shard_count(); }

    // Runs the shards' I/O and the cross-shard messages until nothing moves. In order: a
    // round of I/O on every shard, then a round of messages. Random: a seeded choice between
    // I/O on one shard and one batch of messages, so a reply from another shard may arrive
    // before or after the completions of what its connection did meanwhile (the send of a
    // close-ok, say), as it can in the real loop.
    void pump() {
        for (int round = 0; round < 1'000'000; round++) {
            bool progress = false;
            if (config_.interleaving == core::sim::Interleaving::in_order) {
                for (auto& s : shards_) progress = s->run_io() || progress;
                progress = core_.step() || progress;
            } else if (std::uniform_int_distribution<int>(0, 1)(rng_) == 0) {
                u32 s = std::uniform_int_distribution<u32>(0, shard_count() - 1)(rng_);
                progress = shards_[s]->run_io();
                if (!progress) progress = core_.step();
            } else {
                progress = core_.step();
                if (!progress) progress = pump_io();
            }
            if (!progress && !pump_io() && !core_.step()) return;
        }
        FAIL() << "the simulation did not go quiet";
    }
    // Only the rings: bytes in and out, no cross-shard message moves.
    bool pump_io() {
        bool any = false;
        for (int round = 0; round < 100; round++) {
            bool progress = false;
            for (auto& s : shards_) progress = s->run_io() || progress;
            if (!progress) break;
            any = true;
        }
        return any;
    }

private:
    SimConfig config_;
    std::mt19937_64 rng_;
    Options options_;
    core::sim::Simulation core_;
    std::vector<std::unique_ptr<SimShard>> shards_;
};

}  // namespace lepus::server::sim
