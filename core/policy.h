#pragma once
// Policies and operator policies: RabbitMQ 3.10's `policy` and `operator_policy` runtime
// parameters. A policy names a regular expression over queue or exchange names, what it applies
// to, a priority and a definition (a JSON object of keys such as max-length); the matching
// policy of highest priority applies to a queue or exchange, beside the matching operator
// policy of highest priority, which can only tighten the numeric limits.
//
// This header owns the rules that do not depend on where policies live: validation with
// rabbitmqctl's error texts (rabbit_policy:validate, rabbit_policies:validate_policy0), matching
// (rabbit_policy:match), and the resolution of a queue's effective settings against its own
// x-arguments (rabbit_amqqueue_process:process_args_policy). PolicyTable is one vhost's set of
// policies, held by every shard's catalog replica (core/catalog.h).
//
// Ties: RabbitMQ sorts the matching policies by priority alone and takes the first, so between
// two of equal priority its table's storage order decides. Here the one set first wins.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/types.h"
#include "core/queue_arguments.h"

struct pcre2_real_code_8;

namespace lepus::core {

enum class PolicyKind : u8 { regular, operator_policy };
enum class PolicyApplyTo : u8 { queues, exchanges, all };

std::string_view to_string(PolicyApplyTo apply_to);
std::optional<PolicyApplyTo> parse_apply_to(std::string_view text);

// A policy as it is set, replicated, written and listed.
struct Policy {
    PolicyKind kind = PolicyKind::regular;
    std::string name;
    std::string pattern;
    PolicyApplyTo apply_to = PolicyApplyTo::all;
    i64 priority = 0;
    // A JSON object, compact with its keys sorted: what list_policies prints. validate_policy
    // rewrites the definition as given into this form.
    std::string definition;
    friend bool operator==(const Policy&, const Policy&) = default;
};

// Checks a policy as `rabbitmqctl set_policy` (or set_operator_policy) would have RabbitMQ
// check it and normalises its definition. Returns nothing when it is valid, or rabbitmqctl's
// error text (what follows "Error:\n"), e.g. "Validation failed\n\n-1 is not a valid maximum
// length". `apply_to` is the text given.
std::optional<std::string> validate_policy(Policy& policy, std::string_view apply_to);

// The keys of a definition that change how Lepus treats a queue or exchange, from a definition
// validate_policy accepted. Keys for other queue types (delivery-limit, ha-mode, ...) are kept
// in the definition and listed, but change nothing here, as for a classic queue in RabbitMQ.
struct PolicySettings {
    std::optional<u64> message_ttl_ms;
    std::optional<u64> expires_ms;
    std::optional<u64> max_length;
    std::optional<u64> max_length_bytes;
    std::optional<std::string> overflow;
    std::optional<std::string> queue_mode;
    std::optional<std::string> dead_letter_exchange;
    std::optional<std::string> dead_letter_routing_key;
    std::optional<std::string> alternate_exchange;
};
PolicySettings policy_settings(std::string_view definition);

// One policy with its pattern compiled (once, by each replica) and its settings parsed.
class PolicyEntry {
public:
    // Nothing when the pattern does not compile (validate_policy refuses such a policy).
    static std::optional<PolicyEntry> make(Policy policy);

    const Policy& policy() const { return policy_; }
    const PolicySettings& settings() const { return settings_; }
    // rabbit_policy:matches: the kind of resource, then an unanchored search of the name.
    bool matches(PolicyApplyTo resource, std::string_view name) const;

private:
    PolicyEntry(Policy policy, std::shared_ptr<pcre2_real_code_8> code);

    Policy policy_;
    PolicySettings settings_;
    std::shared_ptr<pcre2_real_code_8> code_;
};

// One vhost's policies and operator policies, in the order they were first set.
class PolicyTable {
public:
    // Adds the policy, or replaces the one of its kind and name in place.
    void put(const Policy& policy);
    bool remove(PolicyKind kind, std::string_view name);
    const Policy* find(PolicyKind kind, std::string_view name) const;
    // The matching policy of the kind with the highest priority, or nullptr. `resource` is
    // queues or exchanges.
    const PolicyEntry* match(PolicyKind kind, PolicyApplyTo resource, std::string_view name) const;
    const std::vector<PolicyEntry>& entries() const { return entries_; }
    bool empty() const { return entries_.empty(); }

private:
    std::vector<PolicyEntry> entries_;
};

// What the policies make of one queue: the names list_queues shows, the merged definition
// (the management API's effective_policy_definition) and the arguments the queue runs with.
struct QueuePolicy {
    std::string policy;           // "" when none applies
    std::string operator_policy;  // "" when none applies
    std::string effective_definition = "{}";
    QueueArguments arguments;
    friend bool operator==(const QueuePolicy&, const QueuePolicy&) = default;
};

// Resolves a queue's own arguments against its policy and operator policy (either may be
// null) as RabbitMQ 3.10 does: a key set by both policies takes the smaller value (the only
// keys an operator policy may set are numeric limits); then against the queue's x-argument,
// expires, message-ttl, max-length and max-length-bytes take the smaller, and
// dead-letter-exchange, dead-letter-routing-key, overflow and queue-mode the argument's.
QueuePolicy resolve_queue_policy(const QueueArguments& own, const PolicyEntry* policy,
                                 const PolicyEntry* operator_policy);

// The alternate exchange of an exchange: its `alternate-exchange` argument wins over the
// policy's key, as rabbit_policy:get_arg has it.
std::optional<std::string> resolve_alternate_exchange(const std::optional<std::string>& argument,
                                                      const PolicyEntry* policy);

}  // namespace lepus::core
