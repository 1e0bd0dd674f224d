// Routing hot paths: every published message asks its exchange's Bindings for destinations.
// Each benchmark binds N destinations (N = 1,000 and 10,000) and routes a rotating set of
// precomputed keys or header tables; items/s is messages routed per second. Run:
//   build/release/bench/routing_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "core/routing/bindings.h"
#include "core/routing/topic_trie.h"
#include "core/wire/field_table.h"

namespace lepus::routing {
namespace {

constexpr usize message_count = 1024;  // a power of two, so the rotation is a mask

// Keys look like "region3.service42.level7": 10 x 100 x 10 = 10,000 distinct literal keys.
std::string topic_word(std::mt19937& rng, const char* prefix, int choices) {
    return prefix + std::to_string(std::uniform_int_distribution<int>(0, choices - 1)(rng));
}

std::string topic_key(std::mt19937& rng) {
    return topic_word(rng, "region", 10) + "." + topic_word(rng, "service", 100) + "." +
           topic_word(rng, "level", 10);
}

// A binding pattern: each word is a wildcard with some probability, so routes walk "*" and "#"
// branches as well as literal ones.
std::string topic_pattern(std::mt19937& rng) {
    std::string words[3] = {topic_word(rng, "region", 10), topic_word(rng, "service", 100),
                            topic_word(rng, "level", 10)};
    std::string pattern;
    for (int i = 0; i < 3; i++) {
        int dice = std::uniform_int_distribution<int>(0, 99)(rng);
        std::string word = dice < 15 ? "*" : dice < 20 ? "#" : words[i];
        pattern += (i == 0 ? "" : ".") + word;
    }
    return pattern;
}

void report(benchmark::State& state, usize routed) {
    state.SetItemsProcessed(static_cast<i64>(state.iterations()));
    state.counters["destinations_per_message"] =
        benchmark::Counter(static_cast<double>(routed) / static_cast<double>(state.iterations()));
}

void topic_route(benchmark::State& state) {
    std::mt19937 rng(1);
    Bindings bindings(ExchangeType::topic);
    for (i64 i = 0; i < state.range(0); i++) {
        bindings.add(Destination::queue("q" + std::to_string(i)), topic_pattern(rng), {}, nullptr);
    }
    std::vector<std::string> keys;
    for (usize i = 0; i < message_count; i++) keys.push_back(topic_key(rng));
    std::vector<const Destination*> out;
    usize routed = 0;
    usize i = 0;
    for (auto _ : state) {
        out.clear();
        bindings.route(keys[i++ & (message_count - 1)], {}, out);
        routed += out.size();
        benchmark::DoNotOptimize(out.data());
    }
    report(state, routed);
}
BENCHMARK(topic_route)->Arg(1000)->Arg(10000);

void direct_route(benchmark::State& state) {
    std::mt19937 rng(2);
    Bindings bindings(ExchangeType::direct);
    for (i64 i = 0; i < state.range(0); i++) {
        std::string name = "orders." + std::to_string(i);
        bindings.add(Destination::queue(name), name, {}, nullptr);
    }
    std::vector<std::string> keys;
    for (usize i = 0; i < message_count; i++) {
        auto n = std::uniform_int_distribution<i64>(0, state.range(0) - 1)(rng);
        keys.push_back("orders." + std::to_string(n));
    }
    std::vector<const Destination*> out;
    usize routed = 0;
    usize i = 0;
    for (auto _ : state) {
        out.clear();
        bindings.route(keys[i++ & (message_count - 1)], {}, out);
        routed += out.size();
        benchmark::DoNotOptimize(out.data());
    }
    report(state, routed);
}
BENCHMARK(direct_route)->Arg(1000)->Arg(10000);

// Headers bindings with one to three keys from a small vocabulary, half "all" and half "any";
// messages carry four headers, one of them an x- header that only *-with-x would look at.
wire::FieldValue header_value(std::mt19937& rng, int choices) {
    return wire::FieldValue::string(
        "v" + std::to_string(std::uniform_int_distribution<int>(0, choices - 1)(rng)));
}

void headers_route(benchmark::State& state) {
    std::mt19937 rng(3);
    const char* names[] = {"format", "region", "tenant", "priority"};
    const int choices[] = {4, 10, 100, 3};
    Bindings bindings(ExchangeType::headers);
    for (i64 i = 0; i < state.range(0); i++) {
        wire::FieldTable arguments;
        arguments.emplace_back("x-match", wire::FieldValue::string(i % 2 == 0 ? "all" : "any"));
        int keys = std::uniform_int_distribution<int>(1, 3)(rng);
        for (int k = 0; k < keys; k++) {
            int n = std::uniform_int_distribution<int>(0, 3)(rng);
            arguments.emplace_back(names[n], header_value(rng, choices[n]));
        }
        std::string error;
        bindings.add(Destination::queue("q" + std::to_string(i)), "",
                     wire::field_table_content(arguments), &error);
    }
    std::vector<std::string> messages;
    for (usize m = 0; m < message_count; m++) {
        wire::FieldTable headers;
        for (int n = 0; n < 4; n++) headers.emplace_back(names[n], header_value(rng, choices[n]));
        headers.emplace_back("x-trace", wire::FieldValue::string("abc"));
        messages.push_back(wire::field_table_content(headers));
    }
    std::vector<const Destination*> out;
    usize routed = 0;
    usize i = 0;
    for (auto _ : state) {
        out.clear();
        bindings.route("", messages[i++ & (message_count - 1)], out);
        routed += out.size();
        benchmark::DoNotOptimize(out.data());
    }
    report(state, routed);
}
BENCHMARK(headers_route)->Arg(1000)->Arg(10000);

// A hostile headers binding: one binding with `width` keys, and messages carrying the same
// `width` headers in another order, each one equal, so an "all" match must look at every key.
// Values are strings (range(1) == 0) or one-entry tables (range(1) == 1), which a hash that
// only looks at a table's size cannot tell apart.
wire::FieldValue wide_value(usize i, i64 kind) {
    if (kind == 0) return wire::FieldValue::string("v" + std::to_string(i));
    return wire::FieldValue::table({{"n", wire::FieldValue::int64(static_cast<i64>(i))}});
}

void headers_route_wide(benchmark::State& state) {
    const auto width = static_cast<usize>(state.range(0));
    std::mt19937 rng(4);
    std::vector<usize> order(width);
    for (usize i = 0; i < width; i++) order[i] = i;
    wire::FieldTable arguments;
    arguments.emplace_back("x-match", wire::FieldValue::string("all"));
    for (usize i : order) {
        arguments.emplace_back("h" + std::to_string(i), wide_value(i, state.range(1)));
    }
    Bindings bindings(ExchangeType::headers);
    std::string error;
    bindings.add(Destination::queue("q"), "", wire::field_table_content(arguments), &error);
    std::shuffle(order.begin(), order.end(), rng);
    wire::FieldTable headers;
    for (usize i : order) {
        headers.emplace_back("h" + std::to_string(i), wide_value(i, state.range(1)));
    }
    const std::string message = wire::field_table_content(headers);
    std::vector<const Destination*> out;
    usize routed = 0;
    for (auto _ : state) {
        out.clear();
        bindings.route("", message, out);
        routed += out.size();
        benchmark::DoNotOptimize(out.data());
    }
    report(state, routed);
}
BENCHMARK(headers_route_wide)->Args({15000, 0})->Args({15000, 1})->Unit(benchmark::kMillisecond);

void fanout_route(benchmark::State& state) {
    Bindings bindings(ExchangeType::fanout);
    for (i64 i = 0; i < state.range(0); i++) {
        bindings.add(Destination::queue("q" + std::to_string(i)), "", {}, nullptr);
    }
    std::vector<const Destination*> out;
    usize routed = 0;
    for (auto _ : state) {
        out.clear();
        bindings.route("", {}, out);
        routed += out.size();
        benchmark::DoNotOptimize(out.data());
    }
    report(state, routed);
}
BENCHMARK(fanout_route)->Arg(10)->Arg(1000);

}  // namespace
}  // namespace lepus::routing
