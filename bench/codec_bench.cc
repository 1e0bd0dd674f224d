// The codec's hot paths: every published message is a method frame parsed and decoded plus a
// content header; every delivery is a basic.deliver encoded. Run:
//   build/release/bench/codec_bench
#include <benchmark/benchmark.h>

#include <string>

#include "core/wire/field_table.h"
#include "core/wire/wire_reader.h"
#include "core/wire/wire_writer.h"
#include "net/amqp/frame.h"
#include "net/amqp/methods.h"

namespace lepus::amqp {
namespace {

BasicPublish typical_publish() {
    BasicPublish publish;
    publish.exchange = "amq.topic";
    publish.routing_key = "orders.eu.created";
    publish.mandatory = true;
    return publish;
}

std::string publish_frame() {
    std::string out;
    wire::WireWriter writer(out);
    write_method_frame(writer, 1, typical_publish());
    return out;
}

void parse_method_frame(benchmark::State& state) {
    std::string bytes = publish_frame();
    Frame frame;
    usize size = 0;
    for (auto _ : state) {
        FrameStatus status = parse_frame(bytes, 131072, frame, size);
        benchmark::DoNotOptimize(status);
        benchmark::DoNotOptimize(frame);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<i64>(bytes.size()));
}
BENCHMARK(parse_method_frame);

void decode_basic_publish(benchmark::State& state) {
    std::string bytes = publish_frame();
    std::string_view payload(bytes.data() + frame_header_size, bytes.size() - frame_overhead);
    Method method;
    u16 class_id = 0;
    u16 method_id = 0;
    for (auto _ : state) {
        DecodeStatus status = decode_method(payload, method, class_id, method_id);
        benchmark::DoNotOptimize(status);
        benchmark::DoNotOptimize(method);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(decode_basic_publish);

void encode_basic_deliver(benchmark::State& state) {
    BasicDeliver deliver;
    deliver.consumer_tag = "amq.ctag-2b7fkLQ0D3sBRmTwnp2kDQ";
    deliver.exchange = "amq.topic";
    deliver.routing_key = "orders.eu.created";
    std::string out;
    out.reserve(256);
    u64 tag = 0;
    for (auto _ : state) {
        out.clear();
        wire::WireWriter writer(out);
        deliver.delivery_tag = ++tag;
        write_method_frame(writer, 1, deliver);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(encode_basic_deliver);

void decode_content_header_typical(benchmark::State& state) {
    std::string headers =
        wire::field_table_content({{"x-trace", wire::FieldValue::string("4bf92f3577b34da6")},
                                   {"x-retries", wire::FieldValue::int32(0)}});
    ContentHeader header;
    header.body_size = 512;
    header.properties.set_content_type("application/json");
    header.properties.set_headers(headers);
    header.properties.set_delivery_mode(2);
    header.properties.set_message_id("9c1d7c3e-5a52-4d1c-a3a8-2e6a54c7c0f1");
    header.properties.set_timestamp(1700000000);
    std::string payload;
    wire::WireWriter writer(payload);
    encode_content_header(header, writer);

    ContentHeader decoded;
    for (auto _ : state) {
        bool ok = decode_content_header(payload, decoded);
        benchmark::DoNotOptimize(ok);
        benchmark::DoNotOptimize(decoded);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(decode_content_header_typical);

}  // namespace
}  // namespace lepus::amqp
