#pragma once
// Headers-exchange matching, as RabbitMQ 3.x does it (rabbit_exchange_type_headers).
//
// A binding's arguments are parsed once, at bind time, into a HeadersMatcher (the x-match mode
// and the keys to compare, sorted by key) and compiled against the exchange's HeadersDictionary
// into key slots. A message's headers are decoded, sorted and loaded into the dictionary once
// per route; each binding then costs a slot check and at most one value comparison per key,
// stopping as soon as the answer is known. Nothing hashes client-chosen keys or values, so no
// choice of them makes a route cost more than the bound under HeadersDictionary.
//
// x-match is "all" (the default), "any", "all-with-x" or "any-with-x". The x-match entry itself
// never takes part in matching; other keys starting with "x-" take part only in the *-with-x
// modes. A binding value of type V (void) asks only that the header be present; any other value
// must equal the header's value in type and value, so int 1 does not match long 1 nor "1".
// "all" with no keys left matches every message; "any" with none matches nothing.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/types.h"
#include "core/wire/field_table.h"

namespace lepus::routing {

enum class HeadersMatchKind : u8 { all, any, all_with_x, any_with_x };

std::string_view to_string(HeadersMatchKind kind);

// A message's headers property, decoded and stably sorted by key. Reused across routes so the
// vector's capacity is kept.
class MessageHeaders {
public:
    // `content` is the table's bytes without the length prefix; empty means no headers. A
    // malformed table is treated as no headers and returns false: it can only come from a
    // codec that skipped validation, and routing it as headerless is the safe reading.
    bool assign(std::string_view content);
    const wire::FieldTable& entries() const { return entries_; }

private:
    wire::FieldTable entries_;
};

class HeadersMatcher {
public:
    struct Entry {
        std::string key;
        wire::FieldValue value;  // type V: presence is enough
    };

    // Returns nullopt and writes RabbitMQ's 406 PRECONDITION_FAILED text to *error (when error
    // is not null) if x-match is present with a value other than the four modes.
    static std::optional<HeadersMatcher> parse(const wire::FieldTable& arguments,
                                               std::string* error);

    // The plain merge, step for step RabbitMQ's. Routing uses the compiled form below; this
    // one is the specification it is tested against.
    bool matches(const MessageHeaders& headers) const;

    HeadersMatchKind kind() const { return kind_; }
    // The keys that take part in matching, stably sorted by key.
    const std::vector<Entry>& entries() const { return entries_; }

private:
    HeadersMatchKind kind_ = HeadersMatchKind::all;
    std::vector<Entry> entries_;
};

// One binding key, as a slot in a HeadersDictionary, and a summary of the value it asks for.
struct HeadersTerm {
    u32 key;
    bool presence_only;  // the binding's value is void
    u64 summary;         // headers_value_summary of the binding's value
};

// A value's type with a cheap summary of its content (a string's length and first bytes, an
// integer's value), so that most unequal values are told apart by one integer comparison.
// Equal values always have equal summaries. It is not a hash key: nothing is looked up by it,
// so values chosen to share a summary cost only the full comparison they would cost anyway.
u64 headers_value_summary(const wire::FieldValue& value);

// A HeadersMatcher with its keys replaced by dictionary slots, so that matching a message is a
// slot check and at most one value comparison per key, with no key comparisons at all.
// The values sit apart from the terms, which stay small because most are ruled out by their
// summary without reading the value.
struct CompiledHeadersMatcher {
    HeadersMatchKind kind = HeadersMatchKind::all;
    std::vector<HeadersTerm> terms;
    std::vector<wire::FieldValue> values;  // values[i] is the value terms[i] asks for
};

// The keys used by the headers bindings of one exchange, each held once with a reference count,
// and the headers of the message being routed, loaded as (key slot -> header value).
//
// The keys are kept in key order (a std::map, not a hash table): they are chosen by clients,
// and a hash table lets a client that picks colliding keys or values make every lookup a scan
// (values that were tables of one entry once made a 15,000-key binding cost 10^8 comparisons
// per publish). Loading a message merges its sorted headers with the keys, or looks each header
// up when that is cheaper: at most k + 3m comparisons for k keys and m headers. Each binding
// then costs one slot check and at most one value comparison per key. So a route costs
// O(m log m) to sort the headers, O(k + m) to load them and O(n) per binding of n keys: never
// the product of a binding's size and the message's.
//
// That linear cost is the only bound on the routing work of one publish, as in RabbitMQ, which
// has no limit either (its merge costs O(n + m) per binding); the frame size bounds m and each
// binding's n. Measured (bench/routing_bench headers_route_wide, 2 cores shared): one binding of
// 15,000 keys against 15,000 headers routes in about 5 ms with string values and 7 ms with
// table values, decoding and sorting the headers included.
//
// A key is held together with its occurrence number among equal keys (0 for the first), so that
// the compiled form also reproduces RabbitMQ's merge for duplicate keys: the n-th binding entry
// for a key is compared with the n-th header of that key.
//
// Ownership: owned by one exchange's Bindings on that exchange's shard, single-threaded. Not
// copyable or movable: the key order counts comparisons into this object.
class HeadersDictionary {
public:
    HeadersDictionary();
    HeadersDictionary(const HeadersDictionary&) = delete;
    HeadersDictionary& operator=(const HeadersDictionary&) = delete;

    // Holds the matcher's keys; every compile is paired with one release.
    CompiledHeadersMatcher compile(const HeadersMatcher& matcher);
    void release(const CompiledHeadersMatcher& compiled);

    // Makes `headers` the message that matches() looks at, replacing the previous one. The
    // headers must outlive the matches() calls that follow: slots point at their values.
    void load(const MessageHeaders& headers);
    // Inline: the headers route calls it once per binding.
    bool matches(const CompiledHeadersMatcher& compiled) const {
        const bool want_all =
            compiled.kind == HeadersMatchKind::all || compiled.kind == HeadersMatchKind::all_with_x;
        const usize count = compiled.terms.size();
        for (usize i = 0; i < count; i++) {
            const HeadersTerm& term = compiled.terms[i];
            const KeySlot& slot = key_slots_[term.key];
            const bool hit = slot.stamp == epoch_ &&
                             (term.presence_only ||
                              (term.summary == slot.summary && *slot.value == compiled.values[i]));
            if (hit != want_all) {  // a miss decides "all", a hit decides "any"
                comparisons_ += i + 1;
                return hit;
            }
        }
        comparisons_ += count;
        return want_all;
    }

    // Key comparisons (compile, release and load) and the terms matches() checked, summed over
    // the dictionary's life: tests read the difference across a route to check its bound.
    u64 comparisons() const { return comparisons_; }
    // Keys still held; lets tests check that release() frees them.
    usize key_count() const { return keys_.size(); }

private:
    // A key and its occurrence number: owned in the map, viewed while looking up.
    using KeyName = std::pair<std::string, u32>;
    using KeyView = std::pair<std::string_view, u32>;
    // Orders keys as RabbitMQ sorts them (bytes as unsigned), then by occurrence, and counts.
    struct KeyLess {
        using is_transparent = void;
        u64* comparisons;
        template <typename A, typename B>
        bool operator()(const A& a, const B& b) const {
            (*comparisons)++;
            return KeyView(a.first, a.second) < KeyView(b.first, b.second);
        }
    };
    using Keys = std::map<KeyName, u32, KeyLess>;
    struct KeySlot {
        u32 references = 0;
        u32 stamp = 0;                            // the message epoch that loaded `value`
        u64 summary = 0;                          // headers_value_summary(*value)
        const wire::FieldValue* value = nullptr;  // the loaded header's value
        Keys::iterator position;                  // this slot's entry in keys_
    };

    u32 hold_key(std::string_view key, u32 occurrence);
    u32 next_occurrence(const wire::FieldTable& entries, usize i, u32 occurrence);
    void load_by_walk(const wire::FieldTable& headers);
    void load_by_lookup(const wire::FieldTable& headers);
    void load_value(u32 slot, const wire::FieldValue& value);

    mutable u64 comparisons_ = 0;
    Keys keys_;
    std::vector<KeySlot> key_slots_;
    std::vector<u32> free_keys_;
    u32 epoch_ = 1;  // slots start at stamp 0: nothing is loaded before the first load()
};

}  // namespace lepus::routing
