// The send path of a delivery: basic.deliver, the content header and the body frames written
// into a connection's OutQueue by the broker's own writer (write_delivery_frames, which every
// Channel delivery goes through), the message's bytes sent by reference, never copied, and
// the iovec array handed to sendmsg.
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
#include "net/session/content_writer.h"
#include "net/session/out_queue.h"
#include "tests/core/test_message.h"

namespace lepus::session {
namespace {

constexpr u16 channel_number = 1;

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
            write_delivery_frames(out, channel_number, limits::frame_size_max, consumer_tag, ++tag,
                                  false, message);
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
}  // namespace lepus::session
