#pragma once
// A session with no socket under it: this object is its host. The client's bytes go straight
// into Session::consume, and what the session writes is handed to the client as the socket's
// send and its completion would, at once. With it a protocol test runs the real state machines
// of net/session and nothing of the server: no ring, no socket, no inbox, no back-pressure
// (tests of those use the socket transport of ProtocolSim).
#include <gtest/gtest.h>
#include <sys/uio.h>

#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/limits.h"
#include "core/chunk.h"
#include "net/session/host.h"
#include "net/session/out_queue.h"
#include "net/session/session.h"

namespace lepus::server::sim {

class DirectSession final : public session::SessionHost {
public:
    DirectSession(session::Services& services, core::ConnectionKey key)
        : session_(services, *this, key, session::Peer{"127.0.0.1:40000", true}) {
        session_.start();
    }

    session::Session& session() { return session_; }
    bool hung_up() const { return hung_up_; }

    // The client's bytes as one receive, handled whole (the socket would spread them over
    // turns of a budget each; the session's handling is the same).
    void receive(std::string_view bytes) {
        if (bytes.empty() || reading_stopped_ || hung_up_) return;
        if (!held_.empty()) {  // behind what waits already
            held_.append(bytes);
            return;
        }
        Chunk* chunk = Chunk::allocate(static_cast<u32>(bytes.size()));
        std::memcpy(chunk->data(), bytes.data(), bytes.size());
        ChunkRef ref = ChunkRef::adopt(chunk);
        usize done = 0;
        while (done < bytes.size() && session_.takes_input()) {
            u64 spent = 0;
            done += session_.consume(ref.get()->data() + done, bytes.size() - done, ref,
                                     std::numeric_limits<u64>::max(), spent);
        }
        // The session waits (for shard 0's admission): the rest is handled once it resumes.
        if (done < bytes.size() && session_.takes_input_but_for_admission()) {
            held_.assign(bytes.substr(done));
        }
        if (session_.state() != session::Session::State::closed) session_.after_input();
    }

    // The peer went away: as the socket reports it.
    void drop() {
        session_.end("peer closed the socket");
        hung_up_ = true;
    }

    // What the session asked to send goes out; true if it asked.
    bool flush() {
        if (!flush_requested_) return false;
        flush_requested_ = false;
        if (hung_up_) return true;
        session_.before_send();
        session::OutQueue sending;
        out_.swap_contents(sending);
        std::vector<iovec> iov(limits::iovec_count_max);
        bool all_sent = sending.empty();
        while (!all_sent) {
            u32 count = sending.build_iovecs(iov.data(), limits::iovec_count_max);
            usize bytes = 0;
            for (u32 i = 0; i < count; i++) {
                sent_.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
                bytes += iov[i].iov_len;
            }
            all_sent = sending.consume(bytes);
        }
        sending.clear();
        session_.after_send();
        if (!out_.empty()) flush_requested_ = true;
        if (session_.ends_after_send() && out_.empty()) {
            session_.end("closed after the last frame was sent");
            hung_up_ = true;
        }
        return true;
    }

    // Bytes sent to the client since the last call.
    std::string take_sent() { return std::exchange(sent_, {}); }

    // session::SessionHost
    session::OutQueue& out() override { return out_; }
    void request_flush() override { flush_requested_ = true; }
    void stop_reading() override { reading_stopped_ = true; }
    void resume_input() override {
        std::string held = std::exchange(held_, {});
        receive(held);
    }
    void hang_up(const char*) override { hung_up_ = true; }

private:
    session::OutQueue out_;
    std::string sent_;
    bool flush_requested_ = false;
    bool reading_stopped_ = false;
    bool hung_up_ = false;
    std::string held_;          // received while the session waited
    session::Session session_;  // last: it writes to out_, and ends before the rest goes
};

}  // namespace lepus::server::sim
