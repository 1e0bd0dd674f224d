#pragma once
// Headers-exchange matching, as RabbitMQ 3.x does it (rabbit_exchange_type_headers).
//
// A binding's arguments are parsed once, at bind time, into a HeadersMatcher (the x-match mode
// and the keys to compare, sorted by key) and compiled against the exchange's HeadersDictionary
// into integer ids. A message's headers are decoded, sorted and loaded into the dictionary once
// per route; each binding then costs a few integer comparisons per key, stopping as soon as the
// answer is known.
//
// x-match is "all" (the default), "any", "all-with-x" or "any-with-x". The x-match entry itself
// never takes part in matching; other keys starting with "x-" take part only in the *-with-x
// modes. A binding value of type V (void) asks only that the header be present; any other value
// must equal the header's value in type and value, so int 1 does not match long 1 nor "1".
// "all" with no keys left matches every message; "any" with none matches nothing.
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
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

// One binding key and the value it asks for, as ids in a HeadersDictionary.
struct HeadersTerm {
    u32 key;
    u32 value;
};

// A HeadersMatcher with its keys and values replaced by dictionary ids, so that matching a
// message is a few integer comparisons per key instead of string and variant comparisons.
struct CompiledHeadersMatcher {
    HeadersMatchKind kind = HeadersMatchKind::all;
    std::vector<HeadersTerm> terms;
};

// The keys and values used by the headers bindings of one exchange, each interned once with a
// reference count, and the headers of the message being routed, loaded as (key id -> value id).
//
// A key is interned together with its occurrence number among equal keys (0 for the first), so
// that the compiled form also reproduces RabbitMQ's merge for duplicate keys: the n-th binding
// entry for a key is compared with the n-th header of that key.
//
// Ownership: owned by one exchange's Bindings on that exchange's shard, single-threaded.
class HeadersDictionary {
public:
    // Interns the matcher's keys and values; every compile is paired with one release.
    CompiledHeadersMatcher compile(const HeadersMatcher& matcher);
    void release(const CompiledHeadersMatcher& compiled);

    // Makes `headers` the message that matches() looks at, replacing the previous one.
    void load(const MessageHeaders& headers);
    // Inline: the headers route calls it once per binding.
    bool matches(const CompiledHeadersMatcher& compiled) const {
        const bool want_all =
            compiled.kind == HeadersMatchKind::all || compiled.kind == HeadersMatchKind::all_with_x;
        for (const HeadersTerm& term : compiled.terms) {
            const KeySlot& slot = key_slots_[term.key];
            const bool hit =
                slot.stamp == epoch_ && (term.value == presence_only || term.value == slot.value);
            if (hit != want_all) return hit;  // a miss decides "all", a hit decides "any"
        }
        return want_all;
    }

    // Interned entries still referenced; lets tests check that release() frees them.
    usize key_count() const { return keys_.size(); }
    usize value_count() const { return values_.size(); }

private:
    // Value ids that are never interned: a void binding value, a header value no binding asks
    // for, and a binding value that equals nothing (it holds a NaN) so it can never match.
    static constexpr u32 presence_only = 0xffffffff;
    static constexpr u32 unknown_value = 0xfffffffe;
    static constexpr u32 never_equal = 0xfffffffd;

    struct ValueHash {
        std::size_t operator()(const wire::FieldValue& value) const noexcept;
    };
    struct KeySlot {
        u32 references = 0;
        u32 stamp = 0;                      // the message epoch in which `value` was loaded
        u32 value = unknown_value;          // the loaded header's value id
        const std::string* name = nullptr;  // the key of this slot in keys_
    };
    struct ValueSlot {
        u32 references = 0;
        const wire::FieldValue* value = nullptr;  // the key of this slot in values_
    };

    const std::string& lookup_key(std::string_view key, u32 occurrence);
    u32 intern_key(std::string_view key, u32 occurrence);
    u32 intern_value(const wire::FieldValue& value);

    std::unordered_map<std::string, u32> keys_;
    std::vector<KeySlot> key_slots_;
    std::vector<u32> free_keys_;
    std::unordered_map<wire::FieldValue, u32, ValueHash> values_;
    std::vector<ValueSlot> value_slots_;
    std::vector<u32> free_values_;
    u32 epoch_ = 1;        // slots start at stamp 0: nothing is loaded before the first load()
    std::string scratch_;  // occurrence-prefixed key for lookups, reused to avoid allocating
};

}  // namespace lepus::routing
