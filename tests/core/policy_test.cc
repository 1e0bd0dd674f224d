// Policies as RabbitMQ 3.10 has them: validation with rabbitmqctl's error texts (each checked
// against a running 3.10.8), matching and priority, the merge of a policy with an operator
// policy and with a queue's own arguments, and a queue taking new settings at once.
#include "core/policy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/queue.h"
#include "tests/core/test_message.h"

namespace lepus::core {
namespace {

Policy policy(std::string name, std::string pattern, std::string definition, i64 priority = 0,
              PolicyKind kind = PolicyKind::regular) {
    Policy p;
    p.kind = kind;
    p.name = std::move(name);
    p.pattern = std::move(pattern);
    p.definition = std::move(definition);
    p.priority = priority;
    return p;
}

// What validate_policy answers: "" when valid.
std::string check(std::string definition, std::string pattern = "^q", std::string apply_to = "all",
                  PolicyKind kind = PolicyKind::regular) {
    Policy p = policy("p", std::move(pattern), std::move(definition), 0, kind);
    return validate_policy(p, apply_to).value_or("");
}

std::string failed(const std::string& line) { return "Validation failed\n\n" + line + "\n"; }

TEST(PolicyValidation, AnswersAsRabbitmqctl) {
    struct Row {
        std::string definition;
        std::string error;
    };
    const Row rows[] = {
        {R"({"max-length":5})", ""},
        {R"({"message-ttl":1000,"dead-letter-exchange":"dlx"})", ""},
        {R"({"ha-mode":"all"})", ""},
        {R"({"queue-mode":"lazy","overflow":"drop-head","expires":1})", ""},
        {R"({"delivery-limit":3,"max-age":"1D","queue-version":2})", ""},
        {"{bad", "JSON decoding error. Reason: badarg"},
        {"{}", failed("no policy provided")},
        {R"({"foo":5})", failed("[{<<\"foo\">>,5}] are not recognised policy settings")},
        {R"({"message-ttl":1,"foo":1,"bar":2})",
         failed("[{<<\"bar\">>,2},{<<\"foo\">>,1}] are not recognised policy settings")},
        {R"({"max-length":-1})", failed("-1 is not a valid maximum length")},
        {R"({"max-length":"a"})", failed("<<\"a\">> is not a valid maximum length")},
        {R"({"max-length-bytes":-2})", failed("-2 is not a valid maximum length in bytes")},
        {R"({"expires":0})", failed("0 is not a valid queue expiry")},
        {R"({"message-ttl":1.5})", failed("1.5 is not a valid message TTL")},
        {R"({"message-ttl":315360000001})", failed("315360000001 is not a valid message TTL")},
        {R"({"queue-mode":"x"})", failed("<<\"x\">> is not a valid queue-mode value")},
        {R"({"overflow":"x"})", failed("<<\"x\">> is not a valid overflow value")},
        {R"({"alternate-exchange":1})", failed("1 is not a valid alternate exchange name")},
        {R"({"dead-letter-exchange":1})", failed("1 is not a valid dead letter exchange name")},
        {R"({"dead-letter-routing-key":1})", failed("1 is not a valid dead letter routing key")},
        {R"({"delivery-limit":-1})", failed("-1 is not a valid delivery limit")},
        {R"({"queue-version":3})", failed("3 is not a valid queue-version value")},
        {R"({"queue-master-locator":"x"})", failed("<<\"x\">> invalid queue-master-locator value")},
    };
    for (const Row& row : rows) EXPECT_EQ(check(row.definition), row.error) << row.definition;
}

TEST(PolicyValidation, PatternAndApplyTo) {
    EXPECT_EQ(check(R"({"max-length":5})", "("),
              failed("pattern should be regular expression but is invalid: {\"missing )\",1}"));
    EXPECT_EQ(check(R"({"max-length":5})", "*"),
              failed("pattern should be regular expression but is invalid: "
                     "{\"nothing to repeat\",0}"));
    EXPECT_EQ(check(R"({"max-length":5})", "^q", "foo"),
              failed("apply-to 'foo' unrecognised; should be 'queues', 'exchanges' or 'all'"));
    EXPECT_EQ(check(R"({"max-length":5})", "", "exchanges"), "");
}

TEST(PolicyValidation, OperatorPoliciesTakeOnlyLimits) {
    EXPECT_EQ(
        check(R"({"max-length":3,"message-ttl":500})", "^q", "all", PolicyKind::operator_policy),
        "");
    EXPECT_EQ(check(R"({"overflow":"drop-head"})", "^q", "all", PolicyKind::operator_policy),
              failed("[{<<\"overflow\">>,<<\"drop-head\">>}] are not recognised policy settings"));
}

// RabbitMQ accepts reject-publish; Lepus confirms a publish once it is routed, so it cannot.
TEST(PolicyValidation, OverflowOtherThanDropHeadIsRefused) {
    EXPECT_EQ(check(R"({"overflow":"reject-publish"})"),
              failed("overflow mode \"reject-publish\" is not supported, only \"drop-head\""));
}

TEST(PolicyValidation, DefinitionIsNormalised) {
    Policy p = policy("p", "^q", R"({ "message-ttl" : 10, "dead-letter-exchange": "d" })");
    ASSERT_EQ(validate_policy(p, "queues"), std::nullopt);
    EXPECT_EQ(p.definition, R"({"dead-letter-exchange":"d","message-ttl":10})");
    EXPECT_EQ(p.apply_to, PolicyApplyTo::queues);
}

TEST(PolicyTable, HighestPriorityWinsAndTheFirstSetBreaksTies) {
    PolicyTable table;
    table.put(policy("zzz", "^tie", R"({"max-length":2})"));
    table.put(policy("aaa", "^tie", R"({"max-length":1})"));
    auto match = [&](std::string_view name) {
        const PolicyEntry* entry = table.match(PolicyKind::regular, PolicyApplyTo::queues, name);
        return entry == nullptr ? std::string() : entry->policy().name;
    };
    EXPECT_EQ(match("tie"), "zzz");
    EXPECT_EQ(match("xtie"), "");
    table.put(policy("high", "tie", R"({"max-length":9})", 5));  // unanchored: any "tie"
    EXPECT_EQ(match("tie"), "high");
    EXPECT_EQ(match("xtie"), "high");
    table.put(policy("high", "tie", R"({"max-length":9})", -1));  // replaced in place
    EXPECT_EQ(match("tie"), "zzz");
    EXPECT_TRUE(table.remove(PolicyKind::regular, "zzz"));
    EXPECT_FALSE(table.remove(PolicyKind::regular, "zzz"));
    EXPECT_EQ(match("tie"), "aaa");
    EXPECT_EQ(table.match(PolicyKind::operator_policy, PolicyApplyTo::queues, "tie"), nullptr);
}

TEST(PolicyTable, ApplyToChoosesTheKindOfResource) {
    PolicyTable table;
    Policy queues = policy("q", ".*", R"({"max-length":1})");
    queues.apply_to = PolicyApplyTo::queues;
    Policy exchanges = policy("x", ".*", R"({"alternate-exchange":"ae"})");
    exchanges.apply_to = PolicyApplyTo::exchanges;
    table.put(queues);
    table.put(exchanges);
    EXPECT_EQ(table.match(PolicyKind::regular, PolicyApplyTo::queues, "a")->policy().name, "q");
    EXPECT_EQ(table.match(PolicyKind::regular, PolicyApplyTo::exchanges, "a")->policy().name, "x");
}

QueuePolicy resolve(const QueueArguments& own, const std::string& user,
                    const std::string& op = {}) {
    std::optional<PolicyEntry> user_entry;
    std::optional<PolicyEntry> op_entry;
    if (!user.empty()) user_entry = PolicyEntry::make(policy("pol", ".*", user));
    if (!op.empty()) {
        op_entry = PolicyEntry::make(policy("op", ".*", op, 0, PolicyKind::operator_policy));
    }
    return resolve_queue_policy(own, user_entry ? &*user_entry : nullptr,
                                op_entry ? &*op_entry : nullptr);
}

TEST(PolicyResolution, LimitsTakeTheSmallerAndNamesTheArgument) {
    QueueArguments own;
    own.max_length = 10;
    own.message_ttl_ms = 500;
    own.dead_letter_exchange = "own-dlx";
    QueuePolicy p = resolve(own, R"({"max-length":20,"message-ttl":100,"expires":9000,)"
                                 R"("dead-letter-exchange":"pol-dlx",)"
                                 R"("dead-letter-routing-key":"rk"})");
    EXPECT_EQ(p.arguments.max_length, 10u);                  // the argument is smaller
    EXPECT_EQ(p.arguments.message_ttl_ms, 100u);             // the policy is smaller
    EXPECT_EQ(p.arguments.expires_ms, 9000u);                // the policy alone
    EXPECT_EQ(p.arguments.dead_letter_exchange, "own-dlx");  // the argument wins
    EXPECT_EQ(p.arguments.dead_letter_routing_key, "rk");    // no argument: the policy's
    EXPECT_EQ(p.policy, "pol");
    EXPECT_EQ(p.operator_policy, "");
}

TEST(PolicyResolution, OperatorPolicyTightensTheLimits) {
    QueuePolicy p = resolve({}, R"({"max-length":10,"message-ttl":100})",
                            R"({"max-length":3,"message-ttl":5000,"max-length-bytes":64})");
    EXPECT_EQ(p.arguments.max_length, 3u);
    EXPECT_EQ(p.arguments.message_ttl_ms, 100u);
    EXPECT_EQ(p.arguments.max_length_bytes, 64u);
    EXPECT_EQ(p.policy, "pol");
    EXPECT_EQ(p.operator_policy, "op");
    EXPECT_EQ(p.effective_definition,
              R"({"max-length":3,"max-length-bytes":64,"message-ttl":100})");
    QueuePolicy alone = resolve({}, "", R"({"expires":1000})");
    EXPECT_EQ(alone.arguments.expires_ms, 1000u);
    EXPECT_EQ(alone.effective_definition, R"({"expires":1000})");
    EXPECT_EQ(resolve({}, "").effective_definition, "{}");
}

TEST(PolicyResolution, ExchangeArgumentWinsOverThePolicy) {
    std::optional<PolicyEntry> entry =
        PolicyEntry::make(policy("ae", ".*", R"({"alternate-exchange":"from-policy"})"));
    EXPECT_EQ(resolve_alternate_exchange(std::nullopt, &*entry), "from-policy");
    EXPECT_EQ(resolve_alternate_exchange(std::string("own"), &*entry), "own");
    EXPECT_EQ(resolve_alternate_exchange(std::nullopt, nullptr), std::nullopt);
}

// A lower max-length drops the excess from the head at once; clearing lets the queue grow
// again; a message TTL reaches only what is enqueued after it, as RabbitMQ stamps the deadline
// at enqueue.
TEST(QueuePolicyChange, AppliesToTheQueueAtOnce) {
    QueueInfo info;
    info.name = "q";
    info.id = QueueId(1);
    Queue queue("/", info, 0);
    for (int i = 0; i < 5; i++) queue.enqueue(test_support::make_message("m" + std::to_string(i)));
    queue.set_policy(resolve(queue.own_arguments(), R"({"max-length":2})"));
    EXPECT_EQ(queue.ready_count(), 2u);
    EXPECT_EQ(queue.policy().policy, "pol");
    queue.set_policy(resolve(queue.own_arguments(), ""));
    for (int i = 0; i < 5; i++) queue.enqueue(test_support::make_message("n"));
    EXPECT_EQ(queue.ready_count(), 7u);

    queue.set_policy(resolve(queue.own_arguments(), R"({"message-ttl":10})"));
    queue.enqueue(test_support::make_message("late"));
    queue.set_time(100);
    queue.expire_messages();
    EXPECT_EQ(queue.ready_count(), 8u) << "the head has no deadline, so nothing behind expires";
    queue.purge();
    queue.enqueue(test_support::make_message("ttl"));
    queue.set_time(200);
    queue.expire_messages();
    EXPECT_EQ(queue.ready_count(), 0u);
}

}  // namespace
}  // namespace lepus::core
