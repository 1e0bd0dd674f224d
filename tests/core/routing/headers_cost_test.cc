// The routing work of a headers exchange, counted in comparisons rather than timed, so that a
// hostile binding or message cannot make one publish stall its shard. Loading m headers against
// k bound keys takes at most k + 3m comparisons and a binding of n keys n more
// (HeadersDictionary), so one binding of n keys costs at most 2n + 3m: linear, where a matcher
// that scans the message for each key, or a hash table whose entries all collide, costs n·m.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "core/routing/bindings.h"

namespace lepus::routing {
namespace {

using wire::FieldTable;
using wire::FieldValue;

constexpr usize width = 15000;

enum class ValueKind { string, table, array };

// Tables and arrays of one entry all have the same size: a hash that looked only at sizes would
// put every one of them in one bucket.
FieldValue value(usize i, ValueKind kind) {
    switch (kind) {
        case ValueKind::string: return FieldValue::string("v" + std::to_string(i));
        case ValueKind::table:
            return FieldValue::table({{"n", FieldValue::int64(static_cast<i64>(i))}});
        case ValueKind::array: return FieldValue::array({FieldValue::int64(static_cast<i64>(i))});
    }
    return {};
}

std::string key(usize i) { return "h" + std::to_string(i); }

// Routes `headers` through one binding of `arguments`; returns the comparisons it took and
// whether the binding matched.
std::pair<u64, bool> route_once(const FieldTable& arguments, const FieldTable& headers) {
    Bindings bindings(ExchangeType::headers);
    std::string error;
    EXPECT_EQ(
        bindings.add(Destination::queue("q"), "", wire::field_table_content(arguments), &error),
        BindResult::added)
        << error;
    std::vector<const Destination*> out;
    const u64 before = bindings.headers_comparisons();
    bindings.route("", wire::field_table_content(headers), out);
    return {bindings.headers_comparisons() - before, !out.empty()};
}

// Every key of the binding is in the message with an equal value, the message's in another
// order: "all" has to look at all of them.
TEST(HeadersCostTest, WideAllMatchIsLinear) {
    for (ValueKind kind : {ValueKind::string, ValueKind::table, ValueKind::array}) {
        std::vector<usize> order(width);
        for (usize i = 0; i < width; i++) order[i] = i;
        FieldTable arguments{{"x-match", FieldValue::string("all")}};
        for (usize i : order) arguments.emplace_back(key(i), value(i, kind));
        std::shuffle(order.begin(), order.end(), std::mt19937(5));
        FieldTable headers;
        for (usize i : order) headers.emplace_back(key(i), value(i, kind));

        auto [comparisons, matched] = route_once(arguments, headers);
        EXPECT_TRUE(matched) << static_cast<int>(kind);
        EXPECT_LE(comparisons, 2 * width + 3 * width) << static_cast<int>(kind);
    }
}

// Every key of the binding is in the message, each with another value of the same shape, so
// "any" never finds its answer early and compares every pair.
TEST(HeadersCostTest, WideAnyMissIsLinear) {
    FieldTable arguments{{"x-match", FieldValue::string("any")}};
    FieldTable headers;
    for (usize i = 0; i < width; i++) {
        arguments.emplace_back(key(i), value(i, ValueKind::table));
        headers.emplace_back(key(i), value(width + i, ValueKind::table));
    }
    auto [comparisons, matched] = route_once(arguments, headers);
    EXPECT_FALSE(matched);
    EXPECT_LE(comparisons, 2 * width + 3 * width);
}

}  // namespace
}  // namespace lepus::routing
