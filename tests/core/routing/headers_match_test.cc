#include "core/routing/headers_match.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

namespace lepus::routing {
namespace {

using wire::FieldTable;
using wire::FieldValue;

FieldValue str(std::string s) { return FieldValue::string(std::move(s)); }

bool matches(const FieldTable& binding, const FieldTable& headers) {
    std::string error;
    std::optional<HeadersMatcher> matcher = HeadersMatcher::parse(binding, &error);
    EXPECT_TRUE(matcher) << error;
    if (!matcher) return false;
    MessageHeaders message;
    EXPECT_TRUE(message.assign(wire::field_table_content(headers)));
    // The compiled form must agree with the plain merge on every case.
    HeadersDictionary dictionary;
    CompiledHeadersMatcher compiled = dictionary.compile(*matcher);
    dictionary.load(message);
    const bool merged = matcher->matches(message);
    EXPECT_EQ(dictionary.matches(compiled), merged);
    dictionary.release(compiled);
    EXPECT_EQ(dictionary.key_count(), 0u);
    return merged;
}

struct HeadersCase {
    const char* name;
    FieldTable binding;
    FieldTable headers;
    bool matches;
};

TEST(HeadersMatchTest, Table) {
    const FieldValue one = FieldValue::int32(1);
    const HeadersCase cases[] = {
        // all (the default): every non-x key present and equal.
        {"all both", {{"a", str("1")}, {"b", one}}, {{"a", str("1")}, {"b", one}}, true},
        {"all extra header", {{"a", str("1")}}, {{"c", one}, {"a", str("1")}}, true},
        {"all one missing", {{"a", str("1")}, {"b", one}}, {{"a", str("1")}}, false},
        {"all one differs",
         {{"a", str("1")}, {"b", one}},
         {{"a", str("1")}, {"b", str("1")}},
         false},
        {"all no headers", {{"a", str("1")}}, {}, false},
        {"all explicit", {{"x-match", str("all")}, {"a", one}}, {{"a", one}}, true},
        {"all no keys", {}, {}, true},
        {"all only x-match", {{"x-match", str("all")}}, {{"a", one}}, true},
        {"all x- keys ignored", {{"x-foo", str("1")}, {"a", one}}, {{"a", one}}, true},
        {"all only x- keys", {{"x-foo", str("1")}}, {}, true},
        {"all order independent",
         {{"c", one}, {"x-match", str("all")}, {"a", one}, {"b", one}},
         {{"b", one}, {"z", one}, {"a", one}, {"c", one}},
         true},
        // any: at least one non-x key present and equal.
        {"any first",
         {{"x-match", str("any")}, {"a", str("1")}, {"b", one}},
         {{"a", str("1")}},
         true},
        {"any second", {{"x-match", str("any")}, {"a", str("1")}, {"b", one}}, {{"b", one}}, true},
        {"any none equal", {{"x-match", str("any")}, {"a", str("1")}}, {{"a", str("2")}}, false},
        {"any no headers", {{"x-match", str("any")}, {"a", str("1")}}, {}, false},
        {"any no keys", {{"x-match", str("any")}}, {{"a", one}}, false},
        {"any only x- keys", {{"x-match", str("any")}, {"x-foo", one}}, {{"x-foo", one}}, false},
        // *-with-x: x- keys count, x-match itself never does.
        {"all-with-x",
         {{"x-match", str("all-with-x")}, {"x-foo", one}, {"a", one}},
         {{"x-foo", one}, {"a", one}},
         true},
        {"all-with-x missing x-",
         {{"x-match", str("all-with-x")}, {"x-foo", one}, {"a", one}},
         {{"a", one}},
         false},
        {"all-with-x no keys", {{"x-match", str("all-with-x")}}, {}, true},
        {"any-with-x",
         {{"x-match", str("any-with-x")}, {"x-first-death-reason", str("expired")}},
         {{"x-first-death-reason", str("expired")}},
         true},
        {"any-with-x other",
         {{"x-match", str("any-with-x")}, {"x-first-death-reason", str("expired")}},
         {{"x-first-death-reason", str("rejected")}},
         false},
        {"any-with-x no keys",
         {{"x-match", str("any-with-x")}},
         {{"x-match", str("any-with-x")}},
         false},
        // Void: presence is enough.
        {"void present", {{"a", FieldValue::void_value()}}, {{"a", str("anything")}}, true},
        {"void present as void",
         {{"a", FieldValue::void_value()}},
         {{"a", FieldValue::void_value()}},
         true},
        {"void absent", {{"a", FieldValue::void_value()}}, {{"b", one}}, false},
        {"void any",
         {{"x-match", str("any")}, {"a", FieldValue::void_value()}, {"b", one}},
         {{"a", FieldValue::int64(7)}},
         true},
        {"void header, valued binding", {{"a", one}}, {{"a", FieldValue::void_value()}}, false},
        // Values compare within RabbitMQ's type classes: integer widths are one class, float
        // widths another; across classes nothing is equal.
        {"int vs string", {{"a", one}}, {{"a", str("1")}}, false},
        {"string vs int", {{"a", str("1")}}, {{"a", one}}, false},
        {"int32 vs int64", {{"a", one}}, {{"a", FieldValue::int64(1)}}, true},
        {"uint8 vs int16", {{"a", FieldValue::uint8(9)}}, {{"a", FieldValue::int16(9)}}, true},
        {"int32 vs int64 other value", {{"a", one}}, {{"a", FieldValue::int64(2)}}, false},
        {"float vs double",
         {{"a", FieldValue::float32(0.5f)}},
         {{"a", FieldValue::float64(0.5)}},
         true},
        {"int vs double", {{"a", one}}, {{"a", FieldValue::float64(1.0)}}, false},
        {"longstr vs bytes", {{"a", str("1")}}, {{"a", FieldValue::bytes("1")}}, false},
        {"bool", {{"a", FieldValue::boolean(true)}}, {{"a", FieldValue::boolean(true)}}, true},
        {"nested table",
         {{"a", FieldValue::table({{"k", one}})}},
         {{"a", FieldValue::table({{"k", one}})}},
         true},
        {"keys are case sensitive", {{"a", one}}, {{"A", one}}, false},
        // Duplicate header keys: the first on the wire is the one compared (RabbitMQ sorts
        // headers stably and consumes one header per binding key).
        {"duplicate header first differs",
         {{"a", one}},
         {{"a", FieldValue::int32(2)}, {"a", one}},
         false},
        {"duplicate header first equal",
         {{"a", one}},
         {{"a", one}, {"a", FieldValue::int32(2)}},
         true},
        {"duplicate binding keys pair up",
         {{"a", one}, {"a", FieldValue::int32(2)}},
         {{"a", one}, {"a", FieldValue::int32(2)}},
         true},
        {"duplicate binding key, one header", {{"a", one}, {"a", one}}, {{"a", one}}, false},
        {"NaN equals nothing",
         {{"a", FieldValue::float64(std::nan(""))}},
         {{"a", FieldValue::float64(std::nan(""))}},
         false},
        {"zero equals negative zero",
         {{"a", FieldValue::float64(0.0)}},
         {{"a", FieldValue::float64(-0.0)}},
         true},
    };
    for (const HeadersCase& c : cases) {
        EXPECT_EQ(matches(c.binding, c.headers), c.matches) << c.name;
    }
}

TEST(HeadersMatchTest, ParsesModeAndKeys) {
    auto matcher = HeadersMatcher::parse(
        {{"x-match", str("any-with-x")}, {"x-a", str("1")}, {"b", str("2")}}, nullptr);
    ASSERT_TRUE(matcher);
    EXPECT_EQ(matcher->kind(), HeadersMatchKind::any_with_x);
    EXPECT_EQ(matcher->entries().size(), 2u);
    EXPECT_EQ(matcher->entries()[0].key, "b");  // sorted

    matcher = HeadersMatcher::parse({{"x-a", str("1")}, {"b", str("2")}}, nullptr);
    ASSERT_TRUE(matcher);
    EXPECT_EQ(matcher->kind(), HeadersMatchKind::all);
    EXPECT_EQ(matcher->entries().size(), 1u);
    EXPECT_EQ(to_string(HeadersMatchKind::all_with_x), "all-with-x");
}

TEST(HeadersMatchTest, InvalidXMatchValueIsRabbitMqsError) {
    std::string error;
    EXPECT_FALSE(HeadersMatcher::parse({{"x-match", str("foo")}, {"a", str("1")}}, &error));
    EXPECT_EQ(error,
              "Invalid x-match field value <<\"foo\">>; expected all, any, all-with-x, or "
              "any-with-x");
    EXPECT_FALSE(HeadersMatcher::parse({{"x-match", str("ALL")}}, nullptr));
    EXPECT_FALSE(HeadersMatcher::parse({{"x-match", str("")}}, &error));
    EXPECT_EQ(error,
              "Invalid x-match field value <<\"\">>; expected all, any, all-with-x, or any-with-x");
}

TEST(HeadersMatchTest, InvalidXMatchTypeIsRabbitMqsError) {
    std::string error;
    EXPECT_FALSE(HeadersMatcher::parse({{"x-match", FieldValue::int32(1)}}, &error));
    EXPECT_EQ(error, "Invalid x-match field type signedint (value 1); expected longstr");
    EXPECT_FALSE(HeadersMatcher::parse({{"x-match", FieldValue::bytes("all")}}, &error));
    EXPECT_EQ(error, "Invalid x-match field type binary (value <<\"all\">>); expected longstr");
}

TEST(HeadersMatchTest, FirstXMatchEntryDecides) {
    auto matcher =
        HeadersMatcher::parse({{"x-match", str("any")}, {"x-match", str("bogus")}}, nullptr);
    ASSERT_TRUE(matcher);
    EXPECT_EQ(matcher->kind(), HeadersMatchKind::any);
    EXPECT_TRUE(matcher->entries().empty());
}

TEST(HeadersMatchTest, MessageHeadersHandlesEmptyAndMalformedContent) {
    MessageHeaders headers;
    EXPECT_TRUE(headers.assign(""));
    EXPECT_TRUE(headers.entries().empty());
    EXPECT_TRUE(headers.assign(wire::field_table_content({{"b", str("1")}, {"a", str("2")}})));
    ASSERT_EQ(headers.entries().size(), 2u);
    EXPECT_EQ(headers.entries()[0].first, "a");
    EXPECT_FALSE(
        headers.assign(std::string_view("\x01"
                                        "aZ",
                                        3)));  // unknown type code
    EXPECT_TRUE(headers.entries().empty());

    auto all = HeadersMatcher::parse({}, nullptr);
    ASSERT_TRUE(all);
    EXPECT_TRUE(all->matches(headers));  // no headers still satisfies "all" with no keys
}

TEST(HeadersMatchTest, DictionarySharesAndReleasesEntries) {
    HeadersDictionary dictionary;
    auto first = HeadersMatcher::parse({{"a", str("1")}, {"b", str("2")}}, nullptr);
    auto second = HeadersMatcher::parse({{"x-match", str("any")}, {"a", str("1")}}, nullptr);
    auto third = HeadersMatcher::parse({{"a", FieldValue::void_value()}}, nullptr);
    ASSERT_TRUE(first && second && third);
    CompiledHeadersMatcher c1 = dictionary.compile(*first);
    CompiledHeadersMatcher c2 = dictionary.compile(*second);
    CompiledHeadersMatcher c3 = dictionary.compile(*third);
    EXPECT_EQ(dictionary.key_count(), 2u);

    MessageHeaders message;
    message.assign(wire::field_table_content({{"a", str("1")}}));
    dictionary.load(message);
    EXPECT_FALSE(dictionary.matches(c1));
    EXPECT_TRUE(dictionary.matches(c2));
    EXPECT_TRUE(dictionary.matches(c3));
    // A later message replaces the earlier one entirely.
    message.assign(wire::field_table_content({{"b", str("2")}}));
    dictionary.load(message);
    EXPECT_FALSE(dictionary.matches(c2));
    EXPECT_FALSE(dictionary.matches(c3));

    dictionary.release(c1);
    EXPECT_EQ(dictionary.key_count(), 1u);
    // Freed ids are reused without confusing the survivors.
    auto fourth = HeadersMatcher::parse({{"c", str("3")}}, nullptr);
    CompiledHeadersMatcher c4 = dictionary.compile(*fourth);
    message.assign(wire::field_table_content({{"c", str("3")}, {"a", str("1")}}));
    dictionary.load(message);
    EXPECT_TRUE(dictionary.matches(c2));
    EXPECT_TRUE(dictionary.matches(c4));
    dictionary.release(c2);
    dictionary.release(c3);
    dictionary.release(c4);
    EXPECT_EQ(dictionary.key_count(), 0u);
}

// Many matchers in one dictionary against random messages, duplicates included: the compiled
// form agrees with the plain merge.
TEST(HeadersMatchTest, CompiledAgreesWithMergeOnRandomInput) {
    std::mt19937 rng(99);
    auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
    // Enough keys that both ways of loading a message run: a few headers against many keys
    // look each one up, many headers walk the keys.
    const char* keys[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i",   "j",
                          "k", "l", "m", "n", "o", "p", "q", "r", "x-d", "x-match"};
    const int key_count = 19;  // x-match only where the test puts it
    const char* modes[] = {"all", "any", "all-with-x", "any-with-x"};
    auto random_value = [&]() {
        switch (pick(4)) {
            case 0: return FieldValue::int32(pick(3));
            case 1: return FieldValue::int64(pick(3));
            case 2: return str(std::to_string(pick(3)));
            default: return FieldValue::void_value();
        }
    };
    auto random_table = [&](int entries_max) {
        FieldTable table;
        for (int n = pick(entries_max + 1); n > 0; n--) {
            table.emplace_back(keys[pick(key_count)], random_value());
        }
        return table;
    };

    HeadersDictionary dictionary;
    std::vector<HeadersMatcher> matchers;
    std::vector<CompiledHeadersMatcher> compiled;
    for (int i = 0; i < 500; i++) {
        FieldTable arguments = random_table(4);
        if (pick(5) > 0) {
            arguments.insert(arguments.begin() + pick(static_cast<int>(arguments.size()) + 1),
                             {"x-match", str(modes[pick(4)])});
        }
        auto matcher = HeadersMatcher::parse(arguments, nullptr);
        ASSERT_TRUE(matcher);
        compiled.push_back(dictionary.compile(*matcher));
        matchers.push_back(std::move(*matcher));
    }
    MessageHeaders message;
    for (int m = 0; m < 500; m++) {
        ASSERT_TRUE(message.assign(wire::field_table_content(random_table(pick(2) ? 3 : 40))));
        dictionary.load(message);
        for (usize i = 0; i < matchers.size(); i++) {
            ASSERT_EQ(dictionary.matches(compiled[i]), matchers[i].matches(message))
                << "matcher " << i << " message " << m;
        }
    }
    for (const auto& c : compiled) dictionary.release(c);
    EXPECT_EQ(dictionary.key_count(), 0u);
}

}  // namespace
}  // namespace lepus::routing
