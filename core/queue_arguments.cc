#include "core/queue_arguments.h"

#include <array>

#include "core/wire/field_table.h"

namespace lepus::core {

namespace {

using amqp::ReplyCode;
using wire::FieldTable;
using wire::FieldValue;

constexpr ReplyCode accepted = ReplyCode::reply_success;

// The checks return `accepted` or the code of their refusal, which the caller passes on.
bool refused(ReplyCode code) { return code != accepted; }

// Keys RabbitMQ 3.10 knows for other queue types: a classic queue refuses them.
constexpr std::array<std::string_view, 9> other_queue_type_keys = {
    "x-max-in-memory-length",
    "x-max-in-memory-bytes",
    "x-delivery-limit",
    "x-quorum-initial-group-size",
    "x-max-age",
    "x-stream-max-segment-size-bytes",
    "x-initial-cluster-size",
    "x-queue-leader-locator",
    "x-dead-letter-strategy",
};

// Builds RabbitMQ's texts for one declare: "invalid arg 'K' for queue 'Q' in vhost 'V': E".
class Refusal {
public:
    Refusal(std::string_view queue, std::string_view vhost, std::string& text)
        : queue_(queue), vhost_(vhost), text_(text) {}

    // `error` is the Erlang term RabbitMQ prints with ~p, already formatted.
    ReplyCode invalid_arg(std::string_view key, std::string_view error) {
        text_ = "PRECONDITION_FAILED - invalid arg '" + std::string(key) + "' for queue '" +
                std::string(queue_) + "' in vhost '" + std::string(vhost_) +
                "': " + std::string(error);
        return ReplyCode::precondition_failed;
    }
    ReplyCode unacceptable_type(std::string_view key, const FieldValue& value) {
        return invalid_arg(
            key, "{unacceptable_type," + std::string(wire::field_type_name(value.type)) + "}");
    }
    ReplyCode not_integer(std::string_view key, const FieldValue& value) {
        return invalid_arg(key, "\"expected integer, got " +
                                    std::string(wire::field_type_name(value.type)) + "\"");
    }
    ReplyCode with_value(std::string_view key, const char* what, i64 value) {
        return invalid_arg(key, "{" + std::string(what) + "," + std::to_string(value) + "}");
    }
    ReplyCode other_queue_type(std::string_view key) {
        text_ = "PRECONDITION_FAILED - invalid arg '" + std::string(key) + "' for queue '" +
                std::string(queue_) + "' in vhost '" + std::string(vhost_) +
                "' of queue type rabbit_classic_queue";
        return ReplyCode::precondition_failed;
    }

private:
    std::string_view queue_;
    std::string_view vhost_;
    std::string& text_;
};

// The checks for integer arguments, in RabbitMQ's order. Each returns accepted or
// precondition_failed.
enum class IntegerRule : u8 { non_negative, expiry, positive_expiry, priority };

ReplyCode check_integer(Refusal& refusal, std::string_view key, const FieldValue& value,
                        IntegerRule rule, u64& out) {
    std::optional<i64> n = value.as_integer();
    if (!n) return refusal.not_integer(key, value);
    if (rule == IntegerRule::positive_expiry && *n == 0) {
        return refusal.with_value(key, "value_zero", 0);
    }
    if (*n < 0) return refusal.with_value(key, "value_negative", *n);
    bool is_expiry = rule == IntegerRule::expiry || rule == IntegerRule::positive_expiry;
    if (is_expiry && static_cast<u64>(*n) > expiry_ms_max) {
        return refusal.with_value(key, "value_too_large", *n);
    }
    if (rule == IntegerRule::priority && *n > priority_max) {
        return refusal.with_value(key, "max_value_exceeded", *n);
    }
    out = static_cast<u64>(*n);
    return accepted;
}

ReplyCode check_optional_integer(Refusal& refusal, const FieldTable& table, std::string_view key,
                                 IntegerRule rule, std::optional<u64>& out) {
    const FieldValue* value = wire::find_field(table, key);
    if (value == nullptr) return accepted;
    u64 n = 0;
    if (ReplyCode code = check_integer(refusal, key, *value, rule, n); refused(code)) return code;
    out = n;
    return accepted;
}

// The string-valued arguments with a fixed set of values.
ReplyCode check_queue_type(Refusal& refusal, const FieldTable& table) {
    constexpr std::string_view key = "x-queue-type";
    const FieldValue* value = wire::find_field(table, key);
    if (value == nullptr) return accepted;
    if (value->type != 'S') return refusal.unacceptable_type(key, *value);
    std::string_view type = *value->as_string();
    if (type == "classic") return accepted;
    if (type == "quorum" || type == "stream") {
        return refusal.invalid_arg(
            key, "\"queue type '" + std::string(type) + "' is not supported, only 'classic'\"");
    }
    return refusal.invalid_arg(key, "\"unsupported queue type '" + std::string(type) + "'\"");
}

ReplyCode check_overflow(Refusal& refusal, const FieldTable& table) {
    constexpr std::string_view key = "x-overflow";
    const FieldValue* value = wire::find_field(table, key);
    if (value == nullptr) return accepted;
    if (value->type != 'S') return refusal.unacceptable_type(key, *value);
    std::string_view mode = *value->as_string();
    if (mode == "drop-head") return accepted;
    if (mode == "reject-publish" || mode == "reject-publish-dlx") {
        // Refusing a publish needs the queue's answer before the confirm; ours are sent as
        // soon as a message is routed.
        return refusal.invalid_arg(key, "\"overflow mode '" + std::string(mode) +
                                            "' is not supported, only 'drop-head'\"");
    }
    return refusal.invalid_arg(key, "invalid_overflow");
}

ReplyCode check_queue_mode(Refusal& refusal, const FieldTable& table) {
    constexpr std::string_view key = "x-queue-mode";
    const FieldValue* value = wire::find_field(table, key);
    if (value == nullptr) return accepted;
    if (value->type != 'S') return refusal.unacceptable_type(key, *value);
    std::string_view mode = *value->as_string();
    if (mode == "default" || mode == "lazy") return accepted;  // lazy changes nothing a client sees
    return refusal.invalid_arg(key, "\"unsupported queue mode '" + std::string(mode) + "'\"");
}

// The checks after the queue type, in the order of RabbitMQ's declare_args().
ReplyCode check_declare_args(Refusal& refusal, const FieldTable& table, QueueArguments& out) {
    using enum IntegerRule;
    if (ReplyCode code =
            check_optional_integer(refusal, table, "x-expires", positive_expiry, out.expires_ms);
        refused(code))
        return code;
    if (ReplyCode code =
            check_optional_integer(refusal, table, "x-message-ttl", expiry, out.message_ttl_ms);
        refused(code))
        return code;
    if (const FieldValue* key = wire::find_field(table, "x-dead-letter-routing-key")) {
        if (key->type != 'S') return refusal.unacceptable_type("x-dead-letter-routing-key", *key);
        if (!out.dead_letter_exchange) {
            return refusal.invalid_arg("x-dead-letter-routing-key",
                                       "routing_key_but_no_dlx_defined");
        }
        out.dead_letter_routing_key = std::string(*key->as_string());
    }
    if (ReplyCode code =
            check_optional_integer(refusal, table, "x-max-length", non_negative, out.max_length);
        refused(code))
        return code;
    if (ReplyCode code = check_optional_integer(refusal, table, "x-max-length-bytes", non_negative,
                                                out.max_length_bytes);
        refused(code))
        return code;
    std::optional<u64> max_priority;
    if (ReplyCode code =
            check_optional_integer(refusal, table, "x-max-priority", priority, max_priority);
        refused(code))
        return code;
    if (max_priority) out.max_priority = static_cast<u8>(*max_priority);
    if (ReplyCode code = check_overflow(refusal, table); refused(code)) return code;
    if (ReplyCode code = check_queue_mode(refusal, table); refused(code)) return code;
    if (const FieldValue* sac = wire::find_field(table, "x-single-active-consumer")) {
        std::optional<bool> on = sac->as_bool();
        if (!on) return refusal.unacceptable_type("x-single-active-consumer", *sac);
        out.single_active_consumer = *on;
    }
    return accepted;
}

}  // namespace

ReplyCode parse_queue_arguments(std::string_view arguments, std::string_view queue,
                                std::string_view vhost, QueueArguments& out, std::string& text) {
    out = QueueArguments{};
    FieldTable table;
    Refusal refusal(queue, vhost, text);
    if (!wire::decode_field_table(arguments, table)) {
        return refusal.invalid_arg("arguments", "malformed_table");
    }
    if (const FieldValue* dlx = wire::find_field(table, "x-dead-letter-exchange")) {
        if (dlx->type != 'S') {
            text = "PRECONDITION_FAILED - invalid type '" +
                   std::string(wire::field_type_name(dlx->type)) +
                   "' for arg 'x-dead-letter-exchange' in queue '" + std::string(queue) +
                   "' in vhost '" + std::string(vhost) + "'";
            return ReplyCode::precondition_failed;
        }
        out.dead_letter_exchange = std::string(*dlx->as_string());
    }
    if (ReplyCode code = check_queue_type(refusal, table); refused(code)) return code;
    if (ReplyCode code = check_declare_args(refusal, table, out); refused(code)) return code;
    for (std::string_view key : other_queue_type_keys) {
        if (wire::find_field(table, key) != nullptr) return refusal.other_queue_type(key);
    }
    return accepted;
}

ReplyCode check_exchange_arguments(std::string_view arguments, std::string_view exchange,
                                   std::string_view vhost, std::string& text) {
    FieldTable table;
    if (!wire::decode_field_table(arguments, table)) {
        text = "PRECONDITION_FAILED - malformed arguments for exchange '" + std::string(exchange) +
               "' in vhost '" + std::string(vhost) + "'";
        return ReplyCode::precondition_failed;
    }
    const FieldValue* alternate = wire::find_field(table, "alternate-exchange");
    if (alternate != nullptr && alternate->type != 'S') {
        text = "PRECONDITION_FAILED - invalid type '" +
               std::string(wire::field_type_name(alternate->type)) +
               "' for arg 'alternate-exchange' in exchange '" + std::string(exchange) +
               "' in vhost '" + std::string(vhost) + "'";
        return ReplyCode::precondition_failed;
    }
    return accepted;
}

namespace {

// Erlang's string:to_integer on the whole text: an optional sign, then digits. `digits` gets the
// digits without leading zeros ("0" for zero), so huge values can still be printed.
enum class ExpirationForm : u8 { valid, no_integer, leftover };

ExpirationForm split_expiration(std::string_view text, bool& negative, std::string_view& digits,
                                std::string_view& leftover) {
    usize i = 0;
    negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
    usize first_digit = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') i++;
    if (i == first_digit) return ExpirationForm::no_integer;
    digits = text.substr(first_digit, i - first_digit);
    while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
    leftover = text.substr(i);
    return leftover.empty() ? ExpirationForm::valid : ExpirationForm::leftover;
}

// Compares decimal digit strings without leading zeros.
bool digits_greater(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return a.size() > b.size();
    return a > b;
}

}  // namespace

bool parse_expiration(std::string_view expiration, u64& ms) {
    bool negative = false;
    std::string_view digits;
    std::string_view leftover;
    if (split_expiration(expiration, negative, digits, leftover) != ExpirationForm::valid) {
        return false;
    }
    if (negative && digits != "0") return false;
    if (digits_greater(digits, std::to_string(expiry_ms_max))) return false;
    u64 value = 0;
    for (char c : digits) value = value * 10 + static_cast<u64>(c - '0');
    ms = value;
    return true;
}

std::string invalid_expiration_text(std::string_view expiration) {
    bool negative = false;
    std::string_view digits;
    std::string_view leftover;
    std::string head =
        "PRECONDITION_FAILED - invalid expiration '" + std::string(expiration) + "': ";
    switch (split_expiration(expiration, negative, digits, leftover)) {
        case ExpirationForm::no_integer: return head + "no_integer";
        case ExpirationForm::leftover:
            return head + "{leftover_string,\"" + std::string(leftover) + "\"}";
        case ExpirationForm::valid: break;
    }
    if (negative && digits != "0") return head + "{value_negative,-" + std::string(digits) + "}";
    return head + "{value_too_large," + std::string(digits) + "}";
}

}  // namespace lepus::core
