#include "net/session/out_queue.h"

#include <gtest/gtest.h>
#include <sys/uio.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "tests/core/test_message.h"

namespace lepus::session {
namespace {

using test_support::make_message;

// The unsent bytes, as sendmsg would see them, one string per iovec.
std::vector<std::string> pieces(OutQueue& queue, u32 count_max = 64) {
    std::vector<iovec> iov(count_max);
    u32 n = queue.build_iovecs(iov.data(), count_max);
    std::vector<std::string> out;
    for (u32 i = 0; i < n; i++) {
        out.emplace_back(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
    }
    return out;
}

std::string joined(OutQueue& queue) {
    std::string all;
    for (const std::string& piece : pieces(queue)) all += piece;
    return all;
}

u32 chunk_refs(const Chunk* chunk) { return chunk->refs.load(std::memory_order_relaxed); }

// The chunk a message's body lies in: its reference count shows whether the message lives.
Chunk* body_chunk(const MessageRef& message) { return message->body()[0].chunk.get(); }

TEST(OutQueueTest, StartsEmpty) {
    OutQueue queue;
    EXPECT_TRUE(queue.empty());
    EXPECT_EQ(queue.size(), 0u);
    EXPECT_TRUE(pieces(queue).empty());
    EXPECT_TRUE(queue.consume(0));
}

TEST(OutQueueTest, WrittenBytesFormOneSegment) {
    OutQueue queue;
    queue.writer().write_bytes("abc");
    queue.writer().write_u8('d');
    EXPECT_FALSE(queue.empty());
    EXPECT_EQ(queue.size(), 4u);
    EXPECT_EQ(pieces(queue), (std::vector<std::string>{"abcd"}));
}

TEST(OutQueueTest, BytesAndReferencesInterleaveInOrder) {
    OutQueue queue;
    MessageRef a = make_message("body-of-a");
    MessageRef b = make_message("b");
    queue.writer().write_bytes("F1");
    queue.append_reference(a->header_payload(), a);
    queue.append_reference(a->body()[0].view(), a);
    queue.writer().write_bytes("F2");
    queue.append_reference(b->body()[0].view(), b);
    queue.writer().write_bytes("end");

    std::vector<iovec> iov(16);
    u32 n = queue.build_iovecs(iov.data(), 16);
    ASSERT_EQ(n, 6u);
    // References are sent in place, from the chunks the message lies in.
    EXPECT_EQ(iov[1].iov_base, a->header_payload().data());
    EXPECT_EQ(iov[1].iov_len, a->header_payload().size());
    EXPECT_EQ(iov[2].iov_base, a->body()[0].data);
    EXPECT_EQ(iov[4].iov_base, b->body()[0].data);
    EXPECT_EQ(pieces(queue), (std::vector<std::string>{"F1", std::string(a->header_payload()),
                                                       "body-of-a", "F2", "b", "end"}));
    EXPECT_EQ(queue.size(), 2 + a->header_payload().size() + 9 + 2 + 1 + 3);
}

TEST(OutQueueTest, EmptyReferenceAddsNothing) {
    OutQueue queue;
    MessageRef a = make_message("x");
    queue.append_reference({}, a);
    EXPECT_TRUE(queue.empty());
    EXPECT_TRUE(pieces(queue).empty());
}

TEST(OutQueueTest, BytesWrittenAfterBuildingFollowTheReferences) {
    OutQueue queue;
    MessageRef a = make_message("ref");
    queue.writer().write_bytes("one");
    queue.append_reference(a->body()[0].view(), a);
    EXPECT_EQ(pieces(queue), (std::vector<std::string>{"one", "ref"}));
    queue.writer().write_bytes("two");
    EXPECT_EQ(pieces(queue), (std::vector<std::string>{"one", "ref", "two"}));
    queue.writer().write_bytes("three");
    EXPECT_EQ(pieces(queue), (std::vector<std::string>{"one", "ref", "two", "three"}));
}

TEST(OutQueueTest, IovecCountIsBounded) {
    OutQueue queue;
    MessageRef a = make_message("r");
    for (int i = 0; i < 5; i++) {
        queue.writer().write_bytes("b");
        queue.append_reference(a->body()[0].view(), a);
    }
    EXPECT_EQ(pieces(queue, 3), (std::vector<std::string>{"b", "r", "b"}));
    EXPECT_FALSE(queue.consume(3));
    EXPECT_EQ(pieces(queue, 3), (std::vector<std::string>{"r", "b", "r"}));
    EXPECT_EQ(joined(queue), "rbrbrbr");
}

// Every way to split one send in two, across and inside segment boundaries.
TEST(OutQueueTest, PartialConsumeResumesAtTheRightByte) {
    MessageRef a = make_message("0123456789");
    const std::string header(a->header_payload());
    const std::string expected = "FRAME" + header + "0123456789" + "xy";
    for (usize first = 0; first <= expected.size(); first++) {
        SCOPED_TRACE("first send " + std::to_string(first));
        OutQueue queue;
        queue.writer().write_bytes("FRAME");
        queue.append_reference(a->header_payload(), a);
        queue.append_reference(a->body()[0].view(), a);
        queue.writer().write_bytes("xy");
        ASSERT_EQ(joined(queue), expected);
        EXPECT_EQ(queue.consume(first), first == expected.size());
        EXPECT_EQ(joined(queue), expected.substr(first));
        EXPECT_TRUE(queue.consume(expected.size() - first));
        EXPECT_TRUE(pieces(queue).empty());
    }
}

TEST(OutQueueTest, ManySmallSendsDeliverEveryByteOnce) {
    MessageRef a = make_message("abcdefghij");
    OutQueue queue;
    std::string expected;
    for (int i = 0; i < 4; i++) {
        queue.writer().write_bytes("<" + std::to_string(i) + ">");
        expected += "<" + std::to_string(i) + ">";
        queue.append_reference(a->body()[0].view(), a);
        expected += "abcdefghij";
    }
    std::string sent;
    for (usize step = 1; sent.size() < expected.size(); step = step % 7 + 1) {
        std::vector<iovec> iov(4);
        u32 n = queue.build_iovecs(iov.data(), 4);
        ASSERT_GT(n, 0u);
        // A short write: at most `step` bytes of what was offered.
        usize wrote = 0;
        for (u32 i = 0; i < n && wrote < step; i++) {
            usize take = std::min(step - wrote, iov[i].iov_len);
            sent.append(static_cast<const char*>(iov[i].iov_base), take);
            wrote += take;
        }
        bool done = queue.consume(wrote);
        EXPECT_EQ(done, sent.size() == expected.size());
    }
    EXPECT_EQ(sent, expected);
}

TEST(OutQueueTest, SwapContentsExchangesEverythingButTheWriters) {
    MessageRef a = make_message("A-body");
    MessageRef b = make_message("B-body");
    OutQueue first;
    OutQueue second;
    first.writer().write_bytes("first:");
    first.append_reference(a->body()[0].view(), a);
    second.writer().write_bytes("second:");
    second.append_reference(b->body()[0].view(), b);
    EXPECT_FALSE(second.consume(3));  // a partly sent queue keeps its progress

    first.swap_contents(second);
    EXPECT_EQ(joined(first), "ond:B-body");
    EXPECT_EQ(joined(second), "first:A-body");
    EXPECT_EQ(first.size(), 7u + 6u);

    // Each writer still appends to its own queue.
    first.writer().write_bytes("+1");
    second.writer().write_bytes("+2");
    EXPECT_EQ(joined(first), "ond:B-body+1");
    EXPECT_EQ(joined(second), "first:A-body+2");

    OutQueue empty;
    second.swap_contents(empty);
    EXPECT_TRUE(second.empty());
    EXPECT_EQ(joined(empty), "first:A-body+2");
}

TEST(OutQueueTest, HoldsItsMessagesUntilCleared) {
    MessageRef a = make_message("payload");
    Chunk* chunk = body_chunk(a);
    ChunkRef watch = ChunkRef::share(chunk);
    ASSERT_EQ(chunk_refs(chunk), 2u);  // the message's slice and ours

    OutQueue queue;
    queue.writer().write_bytes("frame");
    queue.append_reference(a->header_payload(), a);
    queue.append_reference(a->body()[0].view(), a);
    a = MessageRef();
    EXPECT_EQ(chunk_refs(chunk), 2u) << "the queue keeps the message alive";
    EXPECT_EQ(joined(queue), "frame" + test_support::content_header_payload(7) + "payload");

    EXPECT_TRUE(queue.consume(queue.size()));
    EXPECT_EQ(chunk_refs(chunk), 2u) << "sent, but not yet cleared";
    queue.clear();
    EXPECT_EQ(chunk_refs(chunk), 1u) << "clear drops the message";
    EXPECT_TRUE(queue.empty());
    EXPECT_EQ(queue.size(), 0u);
    EXPECT_TRUE(pieces(queue).empty());

    // A cleared queue is as good as new.
    queue.writer().write_bytes("again");
    EXPECT_EQ(pieces(queue), (std::vector<std::string>{"again"}));
}

TEST(OutQueueTest, DestructionDropsTheMessages) {
    MessageRef a = make_message("payload");
    Chunk* chunk = body_chunk(a);
    ChunkRef watch = ChunkRef::share(chunk);
    {
        OutQueue queue;
        queue.append_reference(a->body()[0].view(), a);
        a = MessageRef();
        EXPECT_EQ(chunk_refs(chunk), 2u);
    }
    EXPECT_EQ(chunk_refs(chunk), 1u);
}

TEST(OutQueueTest, ReferencesToSeveralMessagesAreAllHeld) {
    std::vector<Chunk*> chunks;
    std::vector<ChunkRef> watches;
    OutQueue queue;
    for (int i = 0; i < 3; i++) {
        MessageRef m = make_message("m" + std::to_string(i));
        chunks.push_back(body_chunk(m));
        watches.push_back(ChunkRef::share(chunks.back()));
        queue.append_reference(m->body()[0].view(), m);
        queue.writer().write_bytes("|");
    }
    EXPECT_EQ(joined(queue), "m0|m1|m2|");
    for (Chunk* c : chunks) EXPECT_EQ(chunk_refs(c), 2u);
    queue.clear();
    for (Chunk* c : chunks) EXPECT_EQ(chunk_refs(c), 1u);
}

}  // namespace
}  // namespace lepus::session
