// lepus-perf's producer over a socketpair whose far end plays the broker: what it counts as
// published must be exactly what it wrote, whole, and nothing after its deadline.
#include "bench/perf/producer.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "net/amqp/frame.h"

namespace lepus::perf {
namespace {

constexpr u64 ms = 1'000'000;
constexpr u64 start = 1000 * ms;

// The broker's end: reads what the producer wrote and counts the publishes in it.
class FakeBroker {
public:
    explicit FakeBroker(int fd) : fd_(fd) {}
    ~FakeBroker() { ::close(fd_); }

    void read_all() {
        char buffer[65536];
        for (;;) {
            ssize_t got = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
            if (got <= 0) return;
            bytes_.append(buffer, static_cast<usize>(got));
        }
    }
    void send(const std::string& bytes) {
        ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
    }

    // Every frame read is well formed; returns how many messages arrived whole (the bodies in
    // these tests fit one frame). `whole` is false when the bytes end inside a frame.
    u64 publishes(bool& whole) const {
        u64 count = 0;
        std::string_view rest = bytes_;
        while (!rest.empty()) {
            amqp::Frame frame;
            usize size = 0;
            amqp::FrameStatus status = amqp::parse_frame(rest, perf_frame_max, frame, size);
            if (status == amqp::FrameStatus::incomplete) break;
            EXPECT_EQ(status, amqp::FrameStatus::complete)
                << "a malformed frame at byte " << bytes_.size() - rest.size();
            if (status != amqp::FrameStatus::complete) break;
            if (frame.type == amqp::frame_body) count++;
            rest.remove_prefix(size);
        }
        whole = rest.empty();
        return count;
    }

private:
    int fd_;
    std::string bytes_;
};

struct Rig {
    Options options;
    Connection connection;
    std::unique_ptr<FakeBroker> broker;
    std::unique_ptr<Producer> producer;

    explicit Rig(Options opts) : options(std::move(opts)) {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
        connection.adopt(fds[0], perf_frame_max);
        broker = std::make_unique<FakeBroker>(fds[1]);
        producer = std::make_unique<Producer>(options, 0, connection);
        EXPECT_TRUE(producer->prepare());
    }
    u64 published() { return producer->counters().published.load(); }
};

Options paced(u64 rate) {
    Options options;
    options.size = 100;
    options.rate = rate;
    options.grace_s = 1;
    return options;
}

TEST(PerfProducer, PublishesNothingOnceItsDeadlineHasPassed) {
    Rig rig(paced(1000));  // one message a millisecond
    rig.producer->start(start, start + 10 * ms);
    rig.producer->pump(start);
    u64 before = rig.published();
    ASSERT_EQ(before, 1u);
    // Ten more are due at the deadline. The last batch is out and nothing awaits a confirm, so
    // the stop finishes the producer at once; it must not publish what the pace still owes.
    rig.producer->pump(start + 10 * ms);
    EXPECT_EQ(rig.producer->state(), Producer::State::finished);
    EXPECT_EQ(rig.published(), before);
    rig.broker->read_all();
    bool whole = false;
    EXPECT_EQ(rig.broker->publishes(whole), before);
    EXPECT_TRUE(whole);
}

TEST(PerfProducer, ABatchTheBrokerNeverReadsIsNotCountedAsPublished) {
    Options options;
    options.size = 1000;
    options.grace_s = 1;
    Rig rig(options);
    rig.producer->start(start, start + 10 * ms);
    // Flat out into a socket nobody reads: it fills, and the last batch goes out in part.
    rig.producer->pump(start);
    rig.producer->pump(start + 10 * ms);
    EXPECT_EQ(rig.producer->state(), Producer::State::settling);
    rig.producer->pump(start + 10 * ms + 1000 * ms);  // the grace is over
    EXPECT_EQ(rig.producer->state(), Producer::State::finished);
    EXPECT_GT(rig.producer->counters().unsent.load(), 0u);
    rig.broker->read_all();
    bool whole = true;
    // A message begun and never finished is not counted.
    EXPECT_EQ(rig.broker->publishes(whole), rig.published());
}

TEST(PerfProducer, AHeartbeatAfterAShortBatchLeavesTheNextMessagesIntact) {
    Rig rig(paced(1000));
    rig.producer->start(start, start + 100 * ms);
    rig.producer->pump(start);
    // The broker's heartbeat is answered in the next batch, after its one message.
    std::string beat;
    wire::WireWriter writer(beat);
    amqp::write_heartbeat_frame(writer);
    rig.broker->send(beat);
    rig.producer->on_readable(start);
    rig.producer->pump(start + 1 * ms);
    // Then a batch of several, whose second copy sits where the heartbeat went.
    rig.producer->pump(start + 5 * ms);
    ASSERT_EQ(rig.published(), 6u);
    rig.broker->read_all();
    bool whole = false;
    EXPECT_EQ(rig.broker->publishes(whole), 6u);
    EXPECT_TRUE(whole);
}

}  // namespace
}  // namespace lepus::perf
