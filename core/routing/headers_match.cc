#include "core/routing/headers_match.h"

#include <algorithm>
#include <functional>
#include <type_traits>
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
        case HeadersMatchKind::all:
            return "all";
        case HeadersMatchKind::any:
            return "any";
        case HeadersMatchKind::all_with_x:
            return "all-with-x";
        case HeadersMatchKind::any_with_x:
            return "any-with-x";
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

std::size_t HeadersDictionary::ValueHash::operator()(const wire::FieldValue& value) const noexcept {
    // Consistent with FieldValue's ==: equal values hash alike. Compound values hash by size
    // only; binding values are almost always scalars and strings.
    std::size_t h = static_cast<unsigned char>(value.type);
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            std::size_t part = 0;
            if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
                part = v == 0 ? 0 : std::hash<T>{}(v);  // 0.0 == -0.0
            } else if constexpr (std::is_same_v<T, wire::Decimal>) {
                part = (std::size_t{v.scale} << 32) ^ v.value;
            } else if constexpr (std::is_same_v<T, wire::FieldArray> ||
                                 std::is_same_v<T, wire::FieldTable>) {
                part = v.size();
            } else if constexpr (!std::is_same_v<T, std::monostate>) {
                part = std::hash<T>{}(v);
            }
            h = h * 0x9e3779b97f4a7c15ull ^ part;
        },
        value.value);
    return h;
}

const std::string& HeadersDictionary::lookup_key(std::string_view key, u32 occurrence) {
    // A fixed-width prefix keeps (key, occurrence) pairs distinct whatever bytes the key holds.
    scratch_.clear();
    for (int shift = 24; shift >= 0; shift -= 8) {
        scratch_.push_back(static_cast<char>(occurrence >> shift));
    }
    scratch_.append(key);
    return scratch_;
}

u32 HeadersDictionary::intern_key(std::string_view key, u32 occurrence) {
    auto [it, inserted] = keys_.try_emplace(lookup_key(key, occurrence), 0);
    if (inserted) {
        if (free_keys_.empty()) {
            it->second = static_cast<u32>(key_slots_.size());
            LEPUS_ASSERT(it->second < never_equal);
            key_slots_.emplace_back();
        } else {
            it->second = free_keys_.back();
            free_keys_.pop_back();
        }
        key_slots_[it->second] = KeySlot{0, 0, unknown_value, &it->first};
    }
    key_slots_[it->second].references++;
    return it->second;
}

u32 HeadersDictionary::intern_value(const wire::FieldValue& value) {
    if (value.type == 'V') return presence_only;
    if (!(value == value)) return never_equal;
    auto [it, inserted] = values_.try_emplace(value, 0);
    if (inserted) {
        if (free_values_.empty()) {
            it->second = static_cast<u32>(value_slots_.size());
            LEPUS_ASSERT(it->second < never_equal);
            value_slots_.emplace_back();
        } else {
            it->second = free_values_.back();
            free_values_.pop_back();
        }
        value_slots_[it->second] = ValueSlot{0, &it->first};
    }
    value_slots_[it->second].references++;
    return it->second;
}

CompiledHeadersMatcher HeadersDictionary::compile(const HeadersMatcher& matcher) {
    CompiledHeadersMatcher compiled;
    compiled.kind = matcher.kind();
    const auto& entries = matcher.entries();
    compiled.terms.reserve(entries.size());
    u32 occurrence = 0;
    for (usize i = 0; i < entries.size(); i++) {
        occurrence = i > 0 && entries[i].key == entries[i - 1].key ? occurrence + 1 : 0;
        compiled.terms.push_back(
            {intern_key(entries[i].key, occurrence), intern_value(entries[i].value)});
    }
    return compiled;
}

void HeadersDictionary::release(const CompiledHeadersMatcher& compiled) {
    for (const HeadersTerm& term : compiled.terms) {
        KeySlot& key = key_slots_.at(term.key);
        LEPUS_ASSERT(key.references > 0);
        if (--key.references == 0) {
            auto it = keys_.find(*key.name);
            LEPUS_ASSERT(it != keys_.end() && it->second == term.key);
            keys_.erase(it);
            key = KeySlot{};
            free_keys_.push_back(term.key);
        }
        if (term.value == presence_only || term.value == never_equal) continue;
        ValueSlot& value = value_slots_.at(term.value);
        LEPUS_ASSERT(value.references > 0);
        if (--value.references == 0) {
            auto it = values_.find(*value.value);
            LEPUS_ASSERT(it != values_.end() && it->second == term.value);
            values_.erase(it);
            value = ValueSlot{};
            free_values_.push_back(term.value);
        }
    }
}

void HeadersDictionary::load(const MessageHeaders& headers) {
    if (++epoch_ == 0) {
        // After 2^32 messages a stale stamp could equal the new epoch; clear them all once.
        for (KeySlot& slot : key_slots_) slot.stamp = 0;
        epoch_ = 1;
    }
    if (keys_.empty()) return;
    const wire::FieldTable& entries = headers.entries();
    u32 occurrence = 0;
    for (usize i = 0; i < entries.size(); i++) {
        const auto& [name, value] = entries[i];
        occurrence = i > 0 && name == entries[i - 1].first ? occurrence + 1 : 0;
        auto key = keys_.find(lookup_key(name, occurrence));
        if (key == keys_.end()) continue;  // no binding asks for this header
        auto interned = values_.find(value);
        KeySlot& slot = key_slots_[key->second];
        slot.stamp = epoch_;
        slot.value = interned == values_.end() ? unknown_value : interned->second;
    }
}

}  // namespace lepus::routing
