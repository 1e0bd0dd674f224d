#include "core/routing/headers_match.h"

#include <algorithm>
#include <bit>
#include <variant>

#include "core/base/assert.h"

namespace lepus::routing {
namespace {

// Erlang compares binaries byte by byte as unsigned values, which is what
// std::string_view::compare does (char_traits<char> compares as unsigned char).
bool key_less(std::string_view a, std::string_view b) { return a < b; }

bool is_x_key(std::string_view key) { return key.starts_with("x-"); }

// RabbitMQ compares a binding value with a header value by type class: every integer width is
// one class and both float widths another, so a binding's 'I' 1 matches a header's 'l' 1 while
// a string "1" matches neither. Values are widened once, when bound and when a message's headers
// are read, and then compared exactly.
wire::FieldValue widen_to_type_class(const wire::FieldValue& value) {
    if (std::optional<i64> integer = value.as_integer()) return wire::FieldValue::int64(*integer);
    if (value.type == 'f') return wire::FieldValue::float64(std::get<float>(value.value));
    return value;
}

// A binary as Erlang's ~tp prints it: <<"text">> when printable, else <<1,2,3>>.
void append_erlang_binary(std::string& out, std::string_view bytes) {
    bool printable = std::all_of(bytes.begin(), bytes.end(), [](char c) {
        auto b = static_cast<unsigned char>(c);
        return (b >= 0x20 && b < 0x7f) || c == '\n' || c == '\t' || c == '\r';
    });
    out += "<<";
    if (printable) {
        out += '"';
        for (char c : bytes) {
            if (c == '"' || c == '\\') out += '\\';
            if (c == '\n') {
                out += "\\n";
            } else if (c == '\t') {
                out += "\\t";
            } else if (c == '\r') {
                out += "\\r";
            } else {
                out += c;
            }
        }
        out += '"';
    } else {
        for (usize i = 0; i < bytes.size(); i++) {
            if (i > 0) out += ',';
            out += std::to_string(static_cast<unsigned char>(bytes[i]));
        }
    }
    out += ">>";
}

// The value part of an error text, close to Erlang's ~tp for the scalar types a client might
// mistakenly send as x-match; compound values fall back to the field-table notation.
std::string erlang_value(const wire::FieldValue& value) {
    std::string out;
    if (auto s = value.as_string()) {
        append_erlang_binary(out, *s);
    } else if (auto i = value.as_integer()) {
        out = std::to_string(*i);
    } else if (auto b = value.as_bool()) {
        out = *b ? "true" : "false";
    } else if (value.type == 'V') {
        out = "undefined";
    } else if (value.type == 'T') {
        out = std::to_string(std::get<u64>(value.value));
    } else {
        out = wire::to_string(value);
    }
    return out;
}

}  // namespace

std::string_view to_string(HeadersMatchKind kind) {
    switch (kind) {
        case HeadersMatchKind::all: return "all";
        case HeadersMatchKind::any: return "any";
        case HeadersMatchKind::all_with_x: return "all-with-x";
        case HeadersMatchKind::any_with_x: return "any-with-x";
    }
    LEPUS_UNREACHABLE();
}

bool MessageHeaders::assign(std::string_view content) {
    entries_.clear();
    if (content.empty()) return true;
    if (!wire::decode_field_table(content, entries_)) {
        entries_.clear();
        return false;
    }
    for (auto& entry : entries_) entry.second = widen_to_type_class(entry.second);
    // Stable, so that of two headers with the same key the first on the wire is compared
    // first, as RabbitMQ's lists:keysort leaves them.
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const auto& a, const auto& b) { return key_less(a.first, b.first); });
    return true;
}

std::optional<HeadersMatcher> HeadersMatcher::parse(const wire::FieldTable& arguments,
                                                    std::string* error) {
    HeadersMatcher matcher;
    if (const wire::FieldValue* x_match = wire::find_field(arguments, "x-match")) {
        std::string message;
        if (x_match->type != 'S') {
            message = "Invalid x-match field type " +
                      std::string(wire::field_type_name(x_match->type)) + " (value " +
                      erlang_value(*x_match) + "); expected longstr";
        } else {
            std::string_view mode = *x_match->as_string();
            if (mode == "all") {
                matcher.kind_ = HeadersMatchKind::all;
            } else if (mode == "any") {
                matcher.kind_ = HeadersMatchKind::any;
            } else if (mode == "all-with-x") {
                matcher.kind_ = HeadersMatchKind::all_with_x;
            } else if (mode == "any-with-x") {
                matcher.kind_ = HeadersMatchKind::any_with_x;
            } else {
                message = "Invalid x-match field value " + erlang_value(*x_match) +
                          "; expected all, any, all-with-x, or any-with-x";
            }
        }
        if (!message.empty()) {
            if (error != nullptr) *error = std::move(message);
            return std::nullopt;
        }
    }

    const bool with_x = matcher.kind_ == HeadersMatchKind::all_with_x ||
                        matcher.kind_ == HeadersMatchKind::any_with_x;
    for (const auto& [key, value] : arguments) {
        // Every x-match entry is skipped, even a second one, as RabbitMQ's matcher does.
        if (key == "x-match") continue;
        if (!with_x && is_x_key(key)) continue;
        matcher.entries_.push_back({key, widen_to_type_class(value)});
    }
    std::stable_sort(matcher.entries_.begin(), matcher.entries_.end(),
                     [](const Entry& a, const Entry& b) { return key_less(a.key, b.key); });
    return matcher;
}

// A merge of two key-sorted lists, step for step RabbitMQ's headers_match/5: each binding key
// consumes the first header with that key, so even duplicate keys behave the same.
bool HeadersMatcher::matches(const MessageHeaders& headers) const {
    const bool want_all = kind_ == HeadersMatchKind::all || kind_ == HeadersMatchKind::all_with_x;
    const wire::FieldTable& data = headers.entries();
    bool all_match = true;
    bool any_match = false;
    usize d = 0;
    for (const Entry& entry : entries_) {
        while (d < data.size() && key_less(data[d].first, entry.key)) d++;
        if (d == data.size() || entry.key != data[d].first) {
            all_match = false;  // the binding key is absent from the message
        } else {
            if (entry.value.type == 'V' || entry.value == data[d].second) {
                any_match = true;
            } else {
                all_match = false;
            }
            d++;
        }
        if (want_all ? !all_match : any_match) break;
    }
    return want_all ? all_match : any_match;
}

HeadersDictionary::HeadersDictionary() : keys_(KeyLess{&comparisons_}) {}

u64 headers_value_summary(const wire::FieldValue& value) {
    const u64 type = static_cast<u64>(static_cast<unsigned char>(value.type)) << 56;
    if (const auto* text = std::get_if<std::string>(&value.value)) {
        u64 prefix = 0;
        const usize length = std::min<usize>(text->size(), 6);
        for (usize i = 0; i < length; i++) {
            prefix |= u64{static_cast<unsigned char>((*text)[i])} << (8 * i);
        }
        return type ^ (u64{text->size() & 0xff} << 48) ^ prefix;
    }
    // Headers are widened, so every integer is an i64 here.
    if (const auto* integer = std::get_if<i64>(&value.value)) {
        return type ^ static_cast<u64>(*integer);
    }
    return type;  // floats (0.0 equals -0.0), tables and the rest: the type alone
}

u32 HeadersDictionary::hold_key(std::string_view key, u32 occurrence) {
    const KeyView view(key, occurrence);
    auto it = keys_.lower_bound(view);
    if (it == keys_.end() || keys_.key_comp()(view, it->first)) {
        u32 slot = 0;
        if (free_keys_.empty()) {
            slot = static_cast<u32>(key_slots_.size());
            LEPUS_ASSERT(slot < UINT32_MAX);
            key_slots_.emplace_back();
        } else {
            slot = free_keys_.back();
            free_keys_.pop_back();
        }
        it = keys_.emplace_hint(it, KeyName(key, occurrence), slot);
        key_slots_[slot] = KeySlot{0, 0, 0, nullptr, it};
    }
    key_slots_[it->second].references++;
    return it->second;
}

CompiledHeadersMatcher HeadersDictionary::compile(const HeadersMatcher& matcher) {
    CompiledHeadersMatcher compiled;
    compiled.kind = matcher.kind();
    const auto& entries = matcher.entries();
    compiled.terms.reserve(entries.size());
    compiled.values.reserve(entries.size());
    u32 occurrence = 0;
    for (usize i = 0; i < entries.size(); i++) {
        occurrence = i > 0 && entries[i].key == entries[i - 1].key ? occurrence + 1 : 0;
        const wire::FieldValue& value = entries[i].value;
        compiled.terms.push_back({hold_key(entries[i].key, occurrence), value.type == 'V',
                                  headers_value_summary(value)});
        compiled.values.push_back(value);
    }
    return compiled;
}

void HeadersDictionary::release(const CompiledHeadersMatcher& compiled) {
    for (const HeadersTerm& term : compiled.terms) {
        KeySlot& slot = key_slots_.at(term.key);
        LEPUS_ASSERT(slot.references > 0);
        if (--slot.references == 0) {
            keys_.erase(slot.position);
            slot = KeySlot{};
            free_keys_.push_back(term.key);
        }
    }
}

void HeadersDictionary::load(const MessageHeaders& headers) {
    if (++epoch_ == 0) {
        // After 2^32 messages a stale stamp could equal the new epoch; clear them all once.
        for (KeySlot& slot : key_slots_) slot.stamp = 0;
        epoch_ = 1;
    }
    const wire::FieldTable& entries = headers.entries();
    if (keys_.empty() || entries.empty()) return;
    // A walk costs at most k + 3m comparisons. A lookup per header costs at most 2·log2(k) + 2
    // (the map's tree is at most twice as deep as a balanced one, then an equality test and the
    // occurrence), so looking up is chosen only where that stays under k + 3m too: a few headers
    // against many keys look up, a wide message walks.
    const usize k = keys_.size();
    const usize m = entries.size();
    if (2 * m * static_cast<usize>(std::bit_width(k)) < k + m) {
        load_by_lookup(entries);
    } else {
        load_by_walk(entries);
    }
}

void HeadersDictionary::load_value(u32 slot, const wire::FieldValue& value) {
    KeySlot& key = key_slots_[slot];
    key.stamp = epoch_;
    key.summary = headers_value_summary(value);
    key.value = &value;
}

// Both loads number equal keys as compile() does: the headers are stably sorted, so the n-th
// header of a key is occurrence n.
u32 HeadersDictionary::next_occurrence(const wire::FieldTable& entries, usize i, u32 occurrence) {
    if (i == 0) return 0;
    comparisons_++;
    return entries[i].first == entries[i - 1].first ? occurrence + 1 : 0;
}

void HeadersDictionary::load_by_lookup(const wire::FieldTable& entries) {
    u32 occurrence = 0;
    for (usize i = 0; i < entries.size(); i++) {
        const auto& [name, value] = entries[i];
        occurrence = next_occurrence(entries, i, occurrence);
        auto key = keys_.find(KeyView(name, occurrence));
        if (key == keys_.end()) continue;  // no binding asks for this header
        load_value(key->second, value);
    }
}

void HeadersDictionary::load_by_walk(const wire::FieldTable& entries) {
    const KeyLess& less = keys_.key_comp();
    auto key = keys_.begin();
    u32 occurrence = 0;
    for (usize i = 0; i < entries.size() && key != keys_.end(); i++) {
        const auto& [name, value] = entries[i];
        occurrence = next_occurrence(entries, i, occurrence);
        const KeyView view(name, occurrence);
        while (key != keys_.end() && less(key->first, view)) ++key;
        if (key == keys_.end() || less(view, key->first)) continue;  // no binding asks for it
        load_value(key->second, value);
        ++key;
    }
}

}  // namespace lepus::routing
