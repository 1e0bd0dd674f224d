#include "core/routing/bindings.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "tests/core/routing/topic_reference.h"

namespace lepus::routing {
namespace {

using wire::FieldTable;
using wire::FieldValue;

std::string table(const FieldTable& t) { return wire::field_table_content(t); }
FieldValue str(std::string s) { return FieldValue::string(std::move(s)); }

const Destination q1 = Destination::queue("q1");
const Destination q2 = Destination::queue("q2");
const Destination q3 = Destination::queue("q3");

// Route and return destination names (exchanges prefixed "e:"), failing on any duplicate.
std::multiset<std::string> route(const Bindings& bindings, std::string_view key,
                                 std::string_view headers = {}) {
    std::vector<const Destination*> out;
    bindings.route(key, headers, out);
    std::multiset<std::string> names;
    for (const Destination* d : out) {
        names.insert(d->kind == Destination::Kind::exchange ? "e:" + d->name : d->name);
    }
    for (const auto& name : names) EXPECT_EQ(names.count(name), 1u) << "duplicate " << name;
    return names;
}

BindResult add(Bindings& b, const Destination& d, std::string_view key,
               std::string_view arguments = {}) {
    return b.add(d, key, arguments, nullptr);
}

TEST(BindingsTest, DirectMatchesExactKeys) {
    Bindings b(ExchangeType::direct);
    EXPECT_EQ(b.type(), ExchangeType::direct);
    EXPECT_EQ(add(b, q1, "k"), BindResult::added);
    EXPECT_EQ(add(b, q2, "k"), BindResult::added);
    EXPECT_EQ(add(b, q1, "j"), BindResult::added);
    EXPECT_EQ(add(b, q3, ""), BindResult::added);
    EXPECT_EQ(add(b, q1, "k"), BindResult::already_bound);
    EXPECT_EQ(b.size(), 4u);
    EXPECT_EQ(route(b, "k"), (std::multiset<std::string>{"q1", "q2"}));
    EXPECT_EQ(route(b, "j"), (std::multiset<std::string>{"q1"}));
    EXPECT_EQ(route(b, ""), (std::multiset<std::string>{"q3"}));
    EXPECT_TRUE(route(b, "K").empty());
    EXPECT_TRUE(route(b, "k.x").empty());
    EXPECT_TRUE(route(b, "#").empty());
}

TEST(BindingsTest, DirectRouteDoesNotAllocateWithCapacity) {
    Bindings b(ExchangeType::direct);
    for (int i = 0; i < 8; i++) add(b, Destination::queue("q" + std::to_string(i)), "k");
    std::vector<const Destination*> out;
    out.reserve(16);
    const auto* data = out.data();
    b.route("k", {}, out);
    b.route("missing", {}, out);
    EXPECT_EQ(out.size(), 8u);
    EXPECT_EQ(out.data(), data);
}

TEST(BindingsTest, SameKeyWithDifferentArgumentsRoutesOnce) {
    for (ExchangeType type : {ExchangeType::direct, ExchangeType::topic, ExchangeType::fanout}) {
        Bindings b(type);
        std::string args_a = table({{"a", FieldValue::int32(1)}});
        std::string args_b = table({{"a", FieldValue::int32(2)}});
        EXPECT_EQ(add(b, q1, "k", args_a), BindResult::added);
        EXPECT_EQ(add(b, q1, "k", args_b), BindResult::added);
        EXPECT_EQ(add(b, q1, "k"), BindResult::added);
        EXPECT_EQ(b.size(), 3u);
        EXPECT_EQ(route(b, "k"), (std::multiset<std::string>{"q1"})) << to_string(type);
        EXPECT_TRUE(b.remove(q1, "k", args_a));
        EXPECT_TRUE(b.remove(q1, "k", {}));
        EXPECT_EQ(route(b, "k"), (std::multiset<std::string>{"q1"})) << to_string(type);
        EXPECT_TRUE(b.remove(q1, "k", args_b));
        EXPECT_TRUE(route(b, "k").empty()) << to_string(type);
        EXPECT_TRUE(b.empty());
        EXPECT_FALSE(b.has_destination(q1));
    }
}

TEST(BindingsTest, ArgumentsAreComparedSemantically) {
    Bindings b(ExchangeType::direct);
    std::string ab = table({{"a", FieldValue::int32(1)}, {"b", str("x")}});
    std::string ba = table({{"b", str("x")}, {"a", FieldValue::int32(1)}});
    ASSERT_NE(ab, ba);
    EXPECT_EQ(add(b, q1, "k", ab), BindResult::added);
    EXPECT_EQ(add(b, q1, "k", ba), BindResult::already_bound);
    EXPECT_TRUE(b.contains(q1, "k", ba));
    EXPECT_TRUE(b.contains(q1, "k", ab));
    // Same value, other type: a different binding.
    std::string ab_long = table({{"a", FieldValue::int64(1)}, {"b", str("x")}});
    EXPECT_FALSE(b.contains(q1, "k", ab_long));
    EXPECT_EQ(add(b, q1, "k", ab_long), BindResult::added);
    EXPECT_FALSE(b.contains(q1, "k", {}));
    EXPECT_FALSE(b.contains(q1, "j", ab));
    EXPECT_FALSE(b.contains(q2, "k", ab));
    EXPECT_TRUE(b.remove(q1, "k", ba));
    EXPECT_FALSE(b.remove(q1, "k", ab));
    EXPECT_EQ(b.size(), 1u);
}

TEST(BindingsTest, NestedTablesCompareOrderInsensitively) {
    Bindings b(ExchangeType::topic);
    std::string one =
        table({{"n", FieldValue::table({{"x", FieldValue::int32(1)}, {"y", str("2")}})}});
    std::string two =
        table({{"n", FieldValue::table({{"y", str("2")}, {"x", FieldValue::int32(1)}})}});
    EXPECT_EQ(add(b, q1, "a.*", one), BindResult::added);
    EXPECT_EQ(add(b, q1, "a.*", two), BindResult::already_bound);
}

TEST(BindingsTest, MalformedArgumentsAreRejected) {
    Bindings b(ExchangeType::direct);
    std::string error;
    const std::string bad(
        "\x03"
        "abc"
        "Z",
        5);
    EXPECT_EQ(b.add(q1, "k", bad, &error), BindResult::invalid_arguments);
    EXPECT_FALSE(error.empty());
    EXPECT_FALSE(b.has_destination(q1));
    EXPECT_FALSE(b.contains(q1, "k", bad));
    EXPECT_FALSE(b.remove(q1, "k", bad));
}

TEST(BindingsTest, FanoutIgnoresRoutingKeys) {
    Bindings b(ExchangeType::fanout);
    EXPECT_TRUE(route(b, "x").empty());
    EXPECT_EQ(add(b, q1, "a"), BindResult::added);
    EXPECT_EQ(add(b, q1, "b"), BindResult::added);
    EXPECT_EQ(add(b, q2, ""), BindResult::added);
    EXPECT_EQ(add(b, Destination::exchange("q1"), "z"), BindResult::added);
    EXPECT_EQ(add(b, q1, "a"), BindResult::already_bound);
    EXPECT_EQ(route(b, "anything"), (std::multiset<std::string>{"q1", "e:q1", "q2"}));
    std::vector<const Destination*> out;
    out.reserve(8);
    const auto* data = out.data();
    b.route("", {}, out);
    EXPECT_EQ(out.data(), data);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(b.remove_destination(q1), 2u);
    EXPECT_EQ(route(b, ""), (std::multiset<std::string>{"e:q1", "q2"}));
    EXPECT_TRUE(b.has_destination(Destination::exchange("q1")));
    EXPECT_FALSE(b.has_destination(q1));
}

TEST(BindingsTest, TopicRoutesThroughTheTrie) {
    Bindings b(ExchangeType::topic);
    add(b, q1, "stock.*.nyse");
    add(b, q1, "stock.#");
    add(b, q2, "#.nyse");
    add(b, q3, "stock.usd.nyse");
    EXPECT_EQ(route(b, "stock.usd.nyse"), (std::multiset<std::string>{"q1", "q2", "q3"}));
    EXPECT_EQ(route(b, "stock"), (std::multiset<std::string>{"q1"}));
    EXPECT_EQ(route(b, "nyse"), (std::multiset<std::string>{"q2"}));
    EXPECT_TRUE(route(b, "bond.usd").empty());
    EXPECT_TRUE(b.remove(q1, "stock.#", {}));
    EXPECT_FALSE(b.remove(q1, "stock.#", {}));
    EXPECT_TRUE(route(b, "stock").empty());
    EXPECT_EQ(b.remove_destination(q1), 1u);
    EXPECT_EQ(route(b, "stock.eur.nyse"), (std::multiset<std::string>{"q2"}));
}

TEST(BindingsTest, HeadersRoutesByMatchersAndDeduplicates) {
    Bindings b(ExchangeType::headers);
    std::string any_ab = table({{"x-match", str("any")}, {"a", str("1")}, {"b", str("2")}});
    std::string all_a = table({{"a", str("1")}});
    std::string all_ab = table({{"a", str("1")}, {"b", str("2")}});
    EXPECT_EQ(add(b, q1, "ignored", any_ab), BindResult::added);
    EXPECT_EQ(add(b, q1, "other", all_a), BindResult::added);
    EXPECT_EQ(add(b, q2, "", all_ab), BindResult::added);
    EXPECT_EQ(add(b, q3, ""), BindResult::added);  // no arguments: all of nothing, matches
    std::string headers_a = table({{"a", str("1")}});
    std::string headers_ab = table({{"b", str("2")}, {"a", str("1")}});
    EXPECT_EQ(route(b, "", headers_a), (std::multiset<std::string>{"q1", "q3"}));
    EXPECT_EQ(route(b, "xyz", headers_ab), (std::multiset<std::string>{"q1", "q2", "q3"}));
    EXPECT_EQ(route(b, "", {}), (std::multiset<std::string>{"q3"}));
    EXPECT_TRUE(b.remove(q3, "", {}));
    EXPECT_TRUE(route(b, "", {}).empty());
    EXPECT_TRUE(b.remove(q1, "ignored", any_ab));
    EXPECT_EQ(route(b, "", headers_a), (std::multiset<std::string>{"q1"}));
    EXPECT_EQ(b.remove_destination(q1), 1u);
    EXPECT_EQ(route(b, "", headers_ab), (std::multiset<std::string>{"q2"}));
}

TEST(BindingsTest, HeadersRejectsInvalidXMatch) {
    Bindings b(ExchangeType::headers);
    std::string error;
    std::string bad = table({{"x-match", str("foo")}, {"a", str("1")}});
    EXPECT_EQ(b.add(q1, "", bad, &error), BindResult::invalid_arguments);
    EXPECT_EQ(error,
              "Invalid x-match field value <<\"foo\">>; expected all, any, all-with-x, or "
              "any-with-x");
    EXPECT_TRUE(b.empty());
    EXPECT_FALSE(b.has_destination(q1));
    // Other exchange types do not interpret x-match.
    Bindings direct(ExchangeType::direct);
    EXPECT_EQ(direct.add(q1, "", bad, &error), BindResult::added);
}

TEST(BindingsTest, RemoveDestinationRemovesEveryBinding) {
    Bindings b(ExchangeType::direct);
    add(b, q1, "a");
    add(b, q1, "b");
    add(b, q1, "b", table({{"x", FieldValue::boolean(true)}}));
    add(b, q2, "b");
    EXPECT_EQ(b.remove_destination(q1), 3u);
    EXPECT_EQ(b.remove_destination(q1), 0u);
    EXPECT_FALSE(b.has_destination(q1));
    EXPECT_TRUE(b.has_destination(q2));
    EXPECT_EQ(b.size(), 1u);
    EXPECT_TRUE(route(b, "a").empty());
    EXPECT_EQ(route(b, "b"), (std::multiset<std::string>{"q2"}));
}

TEST(BindingsTest, ForEachVisitsEveryBindingWithItsBytes) {
    Bindings b(ExchangeType::topic);
    std::string args = table({{"b", str("x")}, {"a", FieldValue::int32(1)}});
    add(b, q1, "a.#", args);
    add(b, q1, "b");
    add(b, Destination::exchange("e"), "c.*");
    std::set<std::tuple<std::string, std::string, std::string>> seen;
    b.for_each([&](const Destination& d, std::string_view key, std::string_view arguments) {
        seen.emplace(d.name, std::string(key), std::string(arguments));
    });
    EXPECT_EQ(seen, (std::set<std::tuple<std::string, std::string, std::string>>{
                        {"q1", "a.#", args}, {"q1", "b", ""}, {"e", "c.*", ""}}));
}

TEST(BindingsTest, RouteAppendsToExistingOutput) {
    Bindings b(ExchangeType::headers);
    add(b, q1, "");
    std::vector<const Destination*> out{&q1};
    b.route("", {}, out);
    ASSERT_EQ(out.size(), 2u);  // deduplication covers only what this call appends
    EXPECT_EQ(out[0], &q1);
    EXPECT_NE(out[1], &q1);
    EXPECT_EQ(*out[1], q1);
}

// Random adds and removes against a plain list of bindings, for every exchange type: the
// indexes (slots, per-key lists, trie) must always agree with the list.
TEST(BindingsTest, RandomOperationsAgreeWithAModel) {
    struct Model {
        Destination destination;
        std::string key;
        FieldTable arguments;
    };
    const std::vector<std::string> keys = {"", "a", "b", "a.b", "a.*", "#", "*.b", "a.#"};
    const std::vector<FieldTable> argument_tables = {
        {},
        {{"h", str("1")}},
        {{"x-match", str("any")}, {"h", str("1")}, {"g", str("2")}},
        {{"g", str("2")}, {"h", str("1")}},
        {{"h", FieldValue::void_value()}},
    };
    const std::vector<FieldTable> message_headers = {
        {}, {{"h", str("1")}}, {{"g", str("2")}}, {{"g", str("2")}, {"h", str("1")}}};

    for (ExchangeType type :
         {ExchangeType::direct, ExchangeType::fanout, ExchangeType::topic, ExchangeType::headers}) {
        std::mt19937 rng(7 + static_cast<unsigned>(type));
        Bindings b(type);
        std::vector<Model> model;
        auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
        auto find_model = [&](const Destination& d, const std::string& key,
                              const FieldTable& args) {
            return std::find_if(model.begin(), model.end(), [&](const Model& m) {
                return m.destination == d && m.key == key &&
                       wire::tables_equivalent(m.arguments, args);
            });
        };
        auto model_matches = [&](const Model& m, std::string_view key, const FieldTable& h) {
            switch (type) {
                case ExchangeType::direct: return m.key == key;
                case ExchangeType::fanout: return true;
                case ExchangeType::topic: return testing::reference_topic_match(m.key, key);
                case ExchangeType::headers: {
                    MessageHeaders headers;
                    headers.assign(table(h));
                    return HeadersMatcher::parse(m.arguments, nullptr)->matches(headers);
                }
            }
            return false;
        };

        for (int step = 0; step < 3000; step++) {
            Destination d = Destination::queue("q" + std::to_string(pick(12)));
            const std::string& key = keys[pick(keys.size())];
            const FieldTable& args = argument_tables[pick(argument_tables.size())];
            const int action = static_cast<int>(pick(10));
            if (action < 5) {
                bool present = find_model(d, key, args) != model.end();
                BindResult result = b.add(d, key, table(args), nullptr);
                ASSERT_EQ(result, present ? BindResult::already_bound : BindResult::added);
                if (!present) model.push_back({d, key, args});
            } else if (action < 9) {
                auto it = find_model(d, key, args);
                ASSERT_EQ(b.remove(d, key, table(args)), it != model.end());
                if (it != model.end()) model.erase(it);
            } else {
                usize expected = static_cast<usize>(
                    std::count_if(model.begin(), model.end(),
                                  [&](const Model& m) { return m.destination == d; }));
                ASSERT_EQ(b.remove_destination(d), expected);
                std::erase_if(model, [&](const Model& m) { return m.destination == d; });
            }
            ASSERT_EQ(b.size(), model.size());

            const std::string& route_key = keys[pick(keys.size())];
            const FieldTable& headers = message_headers[pick(message_headers.size())];
            std::multiset<std::string> expected;
            for (const Model& m : model) {
                if (model_matches(m, route_key, headers) &&
                    !expected.contains(m.destination.name)) {
                    expected.insert(m.destination.name);
                }
            }
            ASSERT_EQ(route(b, route_key, table(headers)), expected)
                << to_string(type) << " step " << step;
        }
    }
}

}  // namespace
}  // namespace lepus::routing
