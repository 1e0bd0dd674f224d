#include "core/policy.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "core/base/assert.h"

namespace lepus::core {

namespace {

using nlohmann::json;

// The keys RabbitMQ 3.10 registers as policy validators (rabbit_registry's policy_validator),
// and the ones an operator policy may set (operator_policy_validator).
constexpr std::array<std::string_view, 25> policy_keys = {
    "alternate-exchange",
    "dead-letter-exchange",
    "dead-letter-routing-key",
    "dead-letter-strategy",
    "delivery-limit",
    "expires",
    "ha-mode",
    "ha-params",
    "ha-promote-on-failure",
    "ha-promote-on-shutdown",
    "ha-sync-batch-size",
    "ha-sync-mode",
    "initial-cluster-size",
    "max-age",
    "max-in-memory-bytes",
    "max-in-memory-length",
    "max-length",
    "max-length-bytes",
    "message-ttl",
    "overflow",
    "queue-leader-locator",
    "queue-master-locator",
    "queue-mode",
    "queue-version",
    "stream-max-segment-size-bytes",
};
constexpr std::array<std::string_view, 7> operator_policy_keys = {
    "delivery-limit",   "expires",     "max-in-memory-bytes", "max-in-memory-length",
    "max-length-bytes", "message-ttl", "max-length",
};

template <usize N>
bool contains(const std::array<std::string_view, N>& keys, std::string_view key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// A decoded JSON value as Erlang's ~p prints the term RabbitMQ decodes it into: strings are
// binaries, objects maps, arrays lists.
std::string erlang_term(const json& value) {
    switch (value.type()) {
        case json::value_t::string: return "<<\"" + value.get<std::string>() + "\">>";
        case json::value_t::array: {
            std::string out = "[";
            for (usize i = 0; i < value.size(); i++) {
                out += (i > 0 ? "," : "") + erlang_term(value[i]);
            }
            return out + "]";
        }
        case json::value_t::object: {
            std::string out = "#{";
            bool first = true;
            for (const auto& [key, item] : value.items()) {
                out += (first ? "" : ",") + ("<<\"" + key + "\">> => ") + erlang_term(item);
                first = false;
            }
            return out + "}";
        }
        default: return value.dump();  // numbers, true, false, null
    }
}

bool integer_at_least(const json& value, i64 least) {
    if (value.is_number_unsigned()) return true;
    return value.is_number_integer() && value.get<i64>() >= least;
}

bool integer_in(const json& value, i64 least, i64 most) {
    return value.is_number_integer() && value.get<i64>() >= least &&
           (value.is_number_unsigned() ? value.get<u64>() <= static_cast<u64>(most)
                                       : value.get<i64>() <= most);
}

bool string_in(const json& value, std::initializer_list<std::string_view> allowed) {
    if (!value.is_string()) return false;
    const auto& text = value.get_ref<const std::string&>();
    return std::find(allowed.begin(), allowed.end(), text) != allowed.end();
}

// max-age: a count and one of Y, M, D, h, m, s (rabbit_amqqueue:check_max_age).
bool max_age(const json& value) {
    if (!value.is_string()) return false;
    const auto& text = value.get_ref<const std::string&>();
    usize digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') digits++;
    return digits > 0 && digits + 1 == text.size() &&
           std::string_view("YMDhms").find(text.back()) != std::string_view::npos;
}

// rabbit_policies:validate_policy0 and its neighbours for one key: the format of the error
// (with ~p for the value), or nothing when the value is valid.
std::optional<std::string_view> check_key(std::string_view key, const json& value) {
    auto unless = [](bool ok, std::string_view error) -> std::optional<std::string_view> {
        if (ok) return std::nullopt;
        return error;
    };
    constexpr i64 expiry_max = static_cast<i64>(expiry_ms_max);
    if (key == "alternate-exchange") {
        return unless(value.is_string(), "~p is not a valid alternate exchange name");
    }
    if (key == "dead-letter-exchange") {
        return unless(value.is_string(), "~p is not a valid dead letter exchange name");
    }
    if (key == "dead-letter-routing-key") {
        return unless(value.is_string(), "~p is not a valid dead letter routing key");
    }
    if (key == "message-ttl") {
        return unless(integer_in(value, 0, expiry_max), "~p is not a valid message TTL");
    }
    if (key == "expires") {
        return unless(integer_in(value, 1, expiry_max), "~p is not a valid queue expiry");
    }
    if (key == "max-length") {
        return unless(integer_at_least(value, 0), "~p is not a valid maximum length");
    }
    if (key == "max-length-bytes") {
        return unless(integer_at_least(value, 0), "~p is not a valid maximum length in bytes");
    }
    if (key == "max-in-memory-length" || key == "max-in-memory-bytes") {
        return unless(integer_at_least(value, 0), "~p is not a valid maximum memory in bytes");
    }
    if (key == "queue-mode") {
        return unless(string_in(value, {"default", "lazy"}), "~p is not a valid queue-mode value");
    }
    if (key == "queue-version") {
        return unless(integer_in(value, 1, 2), "~p is not a valid queue-version value");
    }
    if (key == "overflow") {
        return unless(string_in(value, {"drop-head", "reject-publish", "reject-publish-dlx"}),
                      "~p is not a valid overflow value");
    }
    if (key == "delivery-limit") {
        return unless(integer_at_least(value, 0), "~p is not a valid delivery limit");
    }
    if (key == "dead-letter-strategy") {
        return unless(string_in(value, {"at-most-once", "at-least-once"}),
                      "~p is not a valid dead letter strategy");
    }
    if (key == "max-age") return unless(max_age(value), "~p is not a valid max age");
    if (key == "queue-leader-locator") {
        return unless(string_in(value, {"client-local", "balanced", "random", "least-leaders"}),
                      "~p is not a valid queue leader locator value");
    }
    if (key == "stream-max-segment-size-bytes") {
        return unless(integer_at_least(value, 0), "~p is not a valid segment size");
    }
    if (key == "initial-cluster-size") {
        return unless(integer_at_least(value, 0), "~p is not a valid cluster size");
    }
    if (key == "queue-master-locator") {
        return unless(string_in(value, {"min-masters", "client-local", "random"}),
                      "~p invalid queue-master-locator value");
    }
    return std::nullopt;  // the ha-* keys: classic mirroring, which a single node ignores
}

std::string with_value(std::string_view format, const json& value) {
    std::string out(format);
    out.replace(out.find("~p"), 2, erlang_term(value));
    return out;
}

// Erlang's re reports errors in PCRE 8's words; PCRE2 words some of the common ones anew.
std::string pcre1_message(int error) {
    switch (error) {
        case PCRE2_ERROR_MISSING_CLOSING_PARENTHESIS: return "missing )";
        case PCRE2_ERROR_QUANTIFIER_INVALID: return "nothing to repeat";
        case PCRE2_ERROR_UNMATCHED_CLOSING_PARENTHESIS: return "unmatched parentheses";
        default: break;
    }
    std::array<PCRE2_UCHAR, 256> buffer{};
    int length = pcre2_get_error_message(error, buffer.data(), buffer.size());
    if (length < 0) return "invalid pattern";
    return std::string(reinterpret_cast<const char*>(buffer.data()), static_cast<usize>(length));
}

std::shared_ptr<pcre2_code> compile(std::string_view pattern, std::string* error) {
    int code = 0;
    PCRE2_SIZE offset = 0;
    const char* source = pattern.empty() ? "" : pattern.data();
    pcre2_code* compiled = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source), pattern.size(), 0,
                                         &code, &offset, nullptr);
    if (compiled == nullptr) {
        if (error != nullptr) {
            *error = "{\"" + pcre1_message(code) + "\"," + std::to_string(offset) + "}";
        }
        return nullptr;
    }
    return std::shared_ptr<pcre2_code>(compiled, [](pcre2_code* c) { pcre2_code_free(c); });
}

std::optional<std::string> validation_failed(std::string text) {
    return "Validation failed\n\n" + text + "\n";  // rabbitmqctl leaves a blank line after it
}

std::optional<std::string> validate_definition(PolicyKind kind, const json& definition) {
    if (definition.empty()) return validation_failed("no policy provided");
    for (const auto& [key, value] : definition.items()) {  // sorted, as RabbitMQ's proplist
        if (auto format = check_key(key, value))
            return validation_failed(with_value(*format, value));
        // Refusing a publish needs the queue's answer before the confirm, and confirms here
        // are sent once a message is routed: as for the x-overflow argument, only drop-head.
        if (key == "overflow" && value != "drop-head") {
            return validation_failed("overflow mode " + value.dump() +
                                     " is not supported, only \"drop-head\"");
        }
    }
    std::string unknown;
    for (const auto& [key, value] : definition.items()) {
        bool known = kind == PolicyKind::regular ? contains(policy_keys, key)
                                                 : contains(operator_policy_keys, key);
        if (known) continue;
        unknown +=
            (unknown.empty() ? "" : ",") + ("{<<\"" + key + "\">>," + erlang_term(value) + "}");
    }
    if (!unknown.empty()) {
        return validation_failed("[" + unknown + "] are not recognised policy settings");
    }
    return std::nullopt;
}

std::optional<u64> unsigned_key(const json& definition, const char* key) {
    auto it = definition.find(key);
    if (it == definition.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<u64>();
}

std::optional<std::string> string_key(const json& definition, const char* key) {
    auto it = definition.find(key);
    if (it == definition.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

// Erlang's min(undefined, N) is N: an unset value loses to any number.
std::optional<u64> smaller(const std::optional<u64>& a, const std::optional<u64>& b) {
    if (!a) return b;
    if (!b) return a;
    return std::min(*a, *b);
}

}  // namespace

std::string_view to_string(PolicyApplyTo apply_to) {
    switch (apply_to) {
        case PolicyApplyTo::queues: return "queues";
        case PolicyApplyTo::exchanges: return "exchanges";
        case PolicyApplyTo::all: return "all";
    }
    return "all";
}

std::optional<PolicyApplyTo> parse_apply_to(std::string_view text) {
    if (text == "queues") return PolicyApplyTo::queues;
    if (text == "exchanges") return PolicyApplyTo::exchanges;
    if (text == "all") return PolicyApplyTo::all;
    return std::nullopt;
}

std::optional<std::string> validate_policy(Policy& policy, std::string_view apply_to) {
    json definition = json::parse(policy.definition, nullptr, false);
    if (definition.is_discarded()) return "JSON decoding error. Reason: badarg";
    if (!definition.is_object()) {
        return validation_failed("definition must be a dictionary: " + erlang_term(definition));
    }
    // rabbit_policy:policy_validation(): priority, pattern, apply-to, definition.
    std::string regex_error;
    if (compile(policy.pattern, &regex_error) == nullptr) {
        return validation_failed("pattern should be regular expression but is invalid: " +
                                 regex_error);
    }
    std::optional<PolicyApplyTo> target = parse_apply_to(apply_to);
    if (!target) {
        return validation_failed("apply-to '" + std::string(apply_to) +
                                 "' unrecognised; should be 'queues', 'exchanges' or 'all'");
    }
    if (auto error = validate_definition(policy.kind, definition)) return error;
    policy.apply_to = *target;
    policy.definition = definition.dump();
    return std::nullopt;
}

PolicySettings policy_settings(std::string_view definition_text) {
    PolicySettings out;
    json definition = json::parse(definition_text, nullptr, false);
    if (!definition.is_object()) return out;
    out.message_ttl_ms = unsigned_key(definition, "message-ttl");
    out.expires_ms = unsigned_key(definition, "expires");
    out.max_length = unsigned_key(definition, "max-length");
    out.max_length_bytes = unsigned_key(definition, "max-length-bytes");
    out.overflow = string_key(definition, "overflow");
    out.queue_mode = string_key(definition, "queue-mode");
    out.dead_letter_exchange = string_key(definition, "dead-letter-exchange");
    out.dead_letter_routing_key = string_key(definition, "dead-letter-routing-key");
    out.alternate_exchange = string_key(definition, "alternate-exchange");
    return out;
}

PolicyEntry::PolicyEntry(Policy policy, std::shared_ptr<pcre2_code> code)
    : policy_(std::move(policy)),
      settings_(policy_settings(policy_.definition)),
      code_(std::move(code)) {}

std::optional<PolicyEntry> PolicyEntry::make(Policy policy) {
    std::shared_ptr<pcre2_code> code = compile(policy.pattern, nullptr);
    if (code == nullptr) return std::nullopt;
    return PolicyEntry(std::move(policy), std::move(code));
}

bool PolicyEntry::matches(PolicyApplyTo resource, std::string_view name) const {
    LEPUS_ASSERT(resource != PolicyApplyTo::all);
    if (policy_.apply_to != PolicyApplyTo::all && policy_.apply_to != resource) return false;
    pcre2_match_data* data = pcre2_match_data_create_from_pattern(code_.get(), nullptr);
    LEPUS_ASSERT(data != nullptr);
    const char* subject = name.empty() ? "" : name.data();
    int result = pcre2_match(code_.get(), reinterpret_cast<PCRE2_SPTR>(subject), name.size(), 0, 0,
                             data, nullptr);
    pcre2_match_data_free(data);
    return result >= 0;
}

void PolicyTable::put(const Policy& policy) {
    std::optional<PolicyEntry> entry = PolicyEntry::make(policy);
    LEPUS_ASSERT_MSG(entry.has_value(), "policies are validated before they are put");
    for (PolicyEntry& existing : entries_) {
        if (existing.policy().kind == policy.kind && existing.policy().name == policy.name) {
            existing = std::move(*entry);
            return;
        }
    }
    entries_.push_back(std::move(*entry));
}

bool PolicyTable::remove(PolicyKind kind, std::string_view name) {
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const PolicyEntry& entry) {
        return entry.policy().kind == kind && entry.policy().name == name;
    });
    if (it == entries_.end()) return false;
    entries_.erase(it);
    return true;
}

const Policy* PolicyTable::find(PolicyKind kind, std::string_view name) const {
    for (const PolicyEntry& entry : entries_) {
        if (entry.policy().kind == kind && entry.policy().name == name) return &entry.policy();
    }
    return nullptr;
}

const PolicyEntry* PolicyTable::match(PolicyKind kind, PolicyApplyTo resource,
                                      std::string_view name) const {
    const PolicyEntry* best = nullptr;
    for (const PolicyEntry& entry : entries_) {
        if (entry.policy().kind != kind || !entry.matches(resource, name)) continue;
        if (best == nullptr || entry.policy().priority > best->policy().priority) best = &entry;
    }
    return best;
}

QueuePolicy resolve_queue_policy(const QueueArguments& own, const PolicyEntry* policy,
                                 const PolicyEntry* operator_policy) {
    QueuePolicy out;
    out.arguments = own;
    PolicySettings user = policy != nullptr ? policy->settings() : PolicySettings{};
    PolicySettings op = operator_policy != nullptr ? operator_policy->settings() : PolicySettings{};
    // rabbit_policy:get/2 merges the two policies' values (rabbit_policies:merge_policy_value);
    // process_args_policy then resolves each against the queue's argument.
    QueueArguments& a = out.arguments;
    a.expires_ms = smaller(own.expires_ms, smaller(user.expires_ms, op.expires_ms));
    a.message_ttl_ms = smaller(own.message_ttl_ms, smaller(user.message_ttl_ms, op.message_ttl_ms));
    a.max_length = smaller(own.max_length, smaller(user.max_length, op.max_length));
    a.max_length_bytes =
        smaller(own.max_length_bytes, smaller(user.max_length_bytes, op.max_length_bytes));
    if (!own.dead_letter_exchange) a.dead_letter_exchange = user.dead_letter_exchange;
    if (!own.dead_letter_routing_key) a.dead_letter_routing_key = user.dead_letter_routing_key;

    // rabbit_policy:effective_definition: the union of both definitions, the shared keys merged.
    json merged = json::object();
    if (policy != nullptr) {
        out.policy = policy->policy().name;
        merged = json::parse(policy->policy().definition, nullptr, false);
    }
    if (operator_policy != nullptr) {
        out.operator_policy = operator_policy->policy().name;
        json op_definition = json::parse(operator_policy->policy().definition, nullptr, false);
        for (const auto& [key, value] : op_definition.items()) {
            auto it = merged.find(key);
            bool both_numbers = it != merged.end() && it->is_number() && value.is_number();
            merged[key] = both_numbers ? std::min(*it, value) : value;
        }
    }
    out.effective_definition = merged.dump();
    return out;
}

std::optional<std::string> resolve_alternate_exchange(const std::optional<std::string>& argument,
                                                      const PolicyEntry* policy) {
    if (argument) return argument;
    if (policy == nullptr) return std::nullopt;
    return policy->settings().alternate_exchange;
}

}  // namespace lepus::core
