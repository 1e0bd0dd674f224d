// The send path of a delivery: the basic.deliver method frame encoded into the connection's
// OutQueue, the content header and body frames written as frame headers around the message's
// own bytes (sent by reference, never copied), and the iovec array handed to sendmsg.
//
// Channel::write_delivery and write_content need a live Connection (an io_uring, a socket and
// a consumer registered through the broker), so this makes the same calls in the same order:
// write_method_frame for basic.deliver, then per frame write_frame_header, append_reference
// and write_frame_end. Keep the two in step when either changes.
//
// range(0) is the body size, range(1) how many deliveries gather in the queue before it goes
// out as one sendmsg (Connection::flush: build_iovecs, then consume and clear after the send
// completes). items/s is deliveries; bytes/s is AMQP bytes on the wire (frames and bodies).
// Run:
//   build/release/bench/send_path_bench
#include <benchmark/benchmark.h>
#include <sys/uio.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/base/assert.h"
#include "core/base/limits.h"
#include "net/amqp/frame.h"
#include "net/amqp/methods.h"
#include "net/server/out_queue.h"
#include "tests/core/test_message.h"

namespace lepus::server {
namespace {

constexpr u16 channel_number = 1;

// As Channel::write_content, with the connection's negotiated frame_max.
void write_content(OutQueue& out, u32 frame_max, const MessageRef& owner) {
    const Message& message = *owner;
    std::string_view header = message.header_payload();
    amqp::write_frame_header(out.writer(), amqp::frame_header, channel_number,
                             static_cast<u32>(header.size()));
    if (header.size() <= limits::content_header_copy_max) {
        out.writer().write_bytes(header);
    } else {
        out.append_reference(header, owner);
    }
    amqp::write_frame_end(out.writer());
    const u64 frame_payload_max = frame_max - amqp::frame_overhead;
    u64 left = message.body_size();
    usize slice_index = 0;
    usize slice_offset = 0;
    const auto& slices = message.body();
    while (left > 0) {
        u64 frame_bytes = std::min(left, frame_payload_max);
        amqp::write_frame_header(out.writer(), amqp::frame_body, channel_number,
                                 static_cast<u32>(frame_bytes));
        u64 need = frame_bytes;
        while (need > 0) {
            LEPUS_ASSERT(slice_index < slices.size());
            const ChunkSlice& s = slices[slice_index];
            usize n = static_cast<usize>(std::min<u64>(need, s.size - slice_offset));
            out.append_reference(std::string_view(s.data + slice_offset, n), owner);
            need -= n;
            slice_offset += n;
            if (slice_offset == s.size) {
                slice_index++;
                slice_offset = 0;
            }
        }
        amqp::write_frame_end(out.writer());
        left -= frame_bytes;
    }
}

void deliver(benchmark::State& state) {
    const auto body_size = static_cast<usize>(state.range(0));
    const auto per_send = static_cast<u32>(state.range(1));
    MessageRef message =
        test_support::make_message(std::string(body_size, 'x'), "amq.direct", "orders.created");
    const std::string consumer_tag = "amq.ctag-2b7fkLQ0D3sBRmTwnp2kDQ";
    OutQueue out;
    std::vector<iovec> iov(limits::iovec_count_max);
    u64 tag = 0;
    i64 bytes = 0;
    for (auto _ : state) {
        for (u32 i = 0; i < per_send; i++) {
            amqp::BasicDeliver d;
            d.consumer_tag = consumer_tag;
            d.delivery_tag = ++tag;
            d.redelivered = false;
            d.exchange = message->exchange();
            d.routing_key = message->routing_key();
            amqp::write_method_frame(out.writer(), channel_number, d);
            write_content(out, limits::frame_size_max, message);
        }
        u32 count = out.build_iovecs(iov.data(), limits::iovec_count_max);
        benchmark::DoNotOptimize(iov.data());
        usize size = out.size();
        for (u32 i = 0; i < count; i++) size -= iov[i].iov_len;
        LEPUS_ASSERT(size == 0);  // the whole queue fits one sendmsg
        bytes += static_cast<i64>(out.size());
        bool all_sent = out.consume(out.size());
        LEPUS_ASSERT(all_sent);
        out.clear();
    }
    state.SetItemsProcessed(static_cast<i64>(state.iterations()) * per_send);
    state.SetBytesProcessed(bytes);
}
// A delivery adds four iovecs (frame bytes, header, frame bytes, body): 64 make 257, under
// iovec_count_max.
BENCHMARK(deliver)->ArgNames({"body", "per_send"})->ArgsProduct({{16, 1024}, {1, 64}});

}  // namespace
}  // namespace lepus::server
