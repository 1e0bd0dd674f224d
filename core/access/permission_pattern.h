#pragma once
// One permission regular expression, compiled once when it is set, matched as RabbitMQ's
// internal backend matches it: `re:run(Name, Pattern, [{capture, none}])`, an unanchored search
// (`foo` allows "xfooy"; only `^foo$` pins a whole name), and the empty pattern "" stands for
// `^$`, which allows nothing but the empty name.
//
// Erlang's `re` is PCRE, so PCRE2 gives the same language: the same syntax, classes, anchors
// and escapes, byte-wise matching (no UTF mode, as RabbitMQ compiles the pattern without the
// `unicode` option), and the same patterns rejected as invalid. std::regex's ECMAScript
// grammar would differ (no possessive quantifiers, no \A, \z, (?i) or named groups).
//
// Ownership: the compiled code is immutable and shared between copies of a pattern; each
// match makes its own match data, so copies may be used on any shard.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct pcre2_real_code_8;

namespace lepus::access {

class PermissionPattern {
public:
    // The pattern, or nothing when PCRE rejects it (RabbitMQ refuses to store such a pattern:
    // `regular expression '(' is invalid`).
    static std::optional<PermissionPattern> compile(std::string_view source);

    // Whether the pattern occurs anywhere in `name`.
    bool matches(std::string_view name) const;

    // As it was set, "" included: what list_permissions shows.
    const std::string& source() const { return source_; }

private:
    PermissionPattern(std::string source, std::shared_ptr<pcre2_real_code_8> code)
        : source_(std::move(source)), code_(std::move(code)) {}

    std::string source_;
    std::shared_ptr<pcre2_real_code_8> code_;
};

}  // namespace lepus::access
