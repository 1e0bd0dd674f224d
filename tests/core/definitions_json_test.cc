// Definitions in RabbitMQ's JSON format. The fixtures in tests/core/data are RabbitMQ 3.10.8's
// own exports of one broker (users with tags, passwords and limits, three vhosts, permissions,
// topic permissions, vhost limits, policies and an operator policy, exchanges of every type,
// queues with arguments,
// queue and exchange-to-exchange bindings with arguments): `rabbitmqctl export_definitions`
// (rabbitmq-3.10-definitions.json), GET /api/definitions (rabbitmq-3.10-api-definitions.json)
// and GET /api/definitions/prod (rabbitmq-3.10-api-definitions-prod.json).
#include "core/definitions_json.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/access/base64.h"
#include "core/access/password_hash.h"
#include "core/json/field_table_json.h"
#include "tests/core/broker_sim.h"

namespace lepus::core {
namespace {

using Json = nlohmann::json;
using sim::SimConfig;
using sim::Simulation;

Json fixture(const std::string& name) {
    std::ifstream in(std::string(LEPUS_TEST_DATA_DIR) + "/" + name);
    EXPECT_TRUE(in) << name;
    std::stringstream text;
    text << in.rdbuf();
    return Json::parse(text.str());
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& item : items) out += (out.empty() ? "" : ",") + item;
    return out;
}

std::string limit(const std::optional<i64>& value) { return value ? std::to_string(*value) : "-"; }

std::string arguments(const std::string& content) {
    return content.empty() ? "{}" : json::dump_json(json::table_content_to_json(content));
}

// One line per op, enough to tell any two apart.
std::string describe(const DefinitionOp& op) {
    return std::visit(
        [&](const auto& o) -> std::string {
            using T = std::decay_t<decltype(o)>;
            if constexpr (std::is_same_v<T, PutUserOp>) {
                return "user " + o.name + " [" + join(o.tags) + "] hash " +
                       std::to_string(o.password_hash.size());
            } else if constexpr (std::is_same_v<T, SetUserLimitsOp>) {
                return "user limits " + o.user + " " + limit(o.limits.max_connections) + " " +
                       limit(o.limits.max_channels);
            } else if constexpr (std::is_same_v<T, AddVhostOp>) {
                return "vhost " + o.name;
            } else if constexpr (std::is_same_v<T, SetPermissionsOp>) {
                return "permissions " + o.user + "@" + o.vhost + " " + o.configure + " | " +
                       o.write + " | " + o.read;
            } else if constexpr (std::is_same_v<T, SetTopicPermissionsOp>) {
                return "topic permissions " + o.user + "@" + o.vhost + " " + o.exchange + " " +
                       o.write + " | " + o.read;
            } else if constexpr (std::is_same_v<T, SetVhostLimitsOp>) {
                return "vhost limits " + o.vhost + " " + limit(o.limits.max_connections) + " " +
                       limit(o.limits.max_queues);
            } else if constexpr (std::is_same_v<T, SetPolicyOp>) {
                return std::string(o.policy.kind == PolicyKind::regular ? "policy "
                                                                        : "operator policy ") +
                       o.vhost + " " + o.policy.name + " " + o.policy.pattern + " " + o.apply_to +
                       " " + std::to_string(o.policy.priority) + " " + o.policy.definition;
            } else if constexpr (std::is_same_v<T, QueueDeclareOp>) {
                return "queue " + op.vhost + " " + o.info.name + (o.info.durable ? " D" : "") +
                       (o.info.auto_delete ? " AD" : "") + " " + arguments(o.info.arguments);
            } else if constexpr (std::is_same_v<T, ExchangeDeclareOp>) {
                return "exchange " + op.vhost + " " + o.info.name + " " +
                       std::string(routing::to_string(o.info.type)) + (o.info.durable ? " D" : "") +
                       (o.info.auto_delete ? " AD" : "") + (o.info.internal ? " I" : "") + " " +
                       arguments(o.info.arguments);
            } else if constexpr (std::is_same_v<T, QueueBindOp>) {
                return "bind " + op.vhost + " " + o.exchange + " -> queue " + o.queue + " '" +
                       o.routing_key + "' " + arguments(o.arguments);
            } else if constexpr (std::is_same_v<T, ExchangeBindOp>) {
                return "bind " + op.vhost + " " + o.source + " -> exchange " + o.destination +
                       " '" + o.routing_key + "' " + arguments(o.arguments);
            } else {
                return "unexpected op " + std::to_string(op.op.index());
            }
        },
        op.op);
}

std::vector<std::string> describe(const ImportResult& result) {
    std::vector<std::string> out;
    for (const DefinitionOp& op : result.ops) out.push_back(describe(op));
    return out;
}

const PutUserOp* find_user(const ImportResult& result, const std::string& name) {
    for (const DefinitionOp& op : result.ops) {
        const auto* put = std::get_if<PutUserOp>(&op.op);
        if (put != nullptr && put->name == name) return put;
    }
    return nullptr;
}

TEST(DefinitionsImportTest, RabbitmqExportGivesItsOpsInRabbitmqOrder) {
    ImportResult result = import_definitions(fixture("rabbitmq-3.10-definitions.json"));
    ASSERT_EQ(result.error, "");
    // Each list in the file's order, the lists in the order 3.10.8 imports them (its log says
    // so too): users, each with its limits, vhosts, permissions, topic permissions, exchanges,
    // policies, parameters (vhost limits, operator policies), queues, bindings.
    const std::vector<std::string> expected = {
        "user bob [management,custom-tag] hash 36",
        "user limits bob 5 10",
        "user alice [administrator,monitoring] hash 36",
        "user guest [administrator] hash 36",
        "user carol [policymaker] hash 0",
        "vhost test/vhost",
        "vhost /",
        "vhost prod",
        "permissions bob@prod ^bob\\..* | ^(orders|bob\\..*)$ | ",
        "permissions guest@prod .* | .* | .*",
        "permissions alice@prod .* | .* | .*",
        "permissions alice@/ .* | .* | .*",
        "permissions guest@/ .* | .* | .*",
        "permissions carol@test/vhost  |  | .*",
        "topic permissions bob@prod amq.topic ^{username}\\..* | .*",
        "topic permissions bob@prod orders ^order\\. | ^order\\..*",
        "exchange prod dlx direct D {}",
        "exchange prod autodel.x topic D AD {}",
        "exchange prod events fanout D {}",
        "exchange / root.x direct D {}",
        "exchange prod orders topic D {}",
        "exchange prod transient.x direct {}",
        "exchange prod hdrs headers D {\"alternate-exchange\":\"dlx\"}",
        "policy prod max-len ^q\\. queues 1 {\"max-length\":500}",
        "policy prod orders-ae ^orders$ exchanges 0 {\"alternate-exchange\":\"dlx\"}",
        "vhost limits prod 10 20",
        "operator policy prod op-limit ^q\\. queues 0 {\"max-length\":100}",
        "vhost limits test/vhost - -1",
        "queue prod dead D {}",
        "queue prod q.orders D {\"x-dead-letter-exchange\":\"dlx\",\"x-dead-letter-routing-key\":"
        "\"dead\",\"x-max-length\":1000,\"x-message-ttl\":60000}",
        "queue prod q.transient {}",
        "queue prod q.autodel D AD {}",
        "queue prod q.lazy D {\"x-max-priority\":5,\"x-queue-mode\":\"lazy\"}",
        "queue prod q.quorum D {\"x-queue-type\":\"quorum\"}",
        "queue / root.q D {}",
        "bind / root.x -> queue root.q 'k' {}",
        "bind prod autodel.x -> queue q.autodel 'x' {}",
        "bind prod dlx -> queue dead 'dead' {}",
        "bind prod events -> exchange internal.x '' {\"flag\":false,\"nested\":{\"a\":1,\"b\":[1,"
        "\"two\",true]},\"ratio\":1.5}",
        "bind prod hdrs -> queue q.lazy '' {\"kind\":\"report\",\"level\":3,\"x-match\":\"all\"}",
        "bind prod orders -> queue q.orders 'order.#' {}",
        "bind prod orders -> exchange events 'order.created' {}",
        "bind prod orders -> queue q.orders 'refund.*' {}",
        "bind prod transient.x -> queue q.transient 't' {}",
    };
    EXPECT_EQ(describe(result), expected);
    const std::vector<std::string> skipped = {
        "vhost '/': description and tags are not kept",
        "vhost 'prod': description and tags are not kept",
    };
    EXPECT_EQ(result.skipped, skipped);
    // The admin ops name their own vhost; the others go in the request's.
    for (const DefinitionOp& op : result.ops) {
        EXPECT_EQ(is_admin_op(op.op), op.vhost.empty()) << describe(op);
    }
}

TEST(DefinitionsImportTest, ImportedHashesAuthenticateTheirPasswords) {
    ImportResult result = import_definitions(fixture("rabbitmq-3.10-definitions.json"));
    ASSERT_EQ(result.error, "");
    access::UserTable users;
    for (const char* name : {"alice", "bob", "carol", "guest"}) {
        const PutUserOp* put = find_user(result, name);
        ASSERT_NE(put, nullptr) << name;
        users.put(access::User{put->name, put->password_hash, put->tags});
    }
    // The passwords given to `rabbitmqctl add_user`; bob's is UTF-8.
    EXPECT_EQ(users.authenticate("alice", "alice-secret"), access::LoginOutcome::ok);
    EXPECT_EQ(users.authenticate("bob", "bob p\xc3\xa4ssword"), access::LoginOutcome::ok);
    EXPECT_EQ(users.authenticate("guest", "guest"), access::LoginOutcome::ok);
    EXPECT_EQ(users.authenticate("alice", "alice"), access::LoginOutcome::invalid_credentials);
    // carol's password was cleared: nothing logs in as carol.
    EXPECT_EQ(users.authenticate("carol", "carol-secret"),
              access::LoginOutcome::invalid_credentials);
}

TEST(DefinitionsImportTest, UsersAsOtherVersionsWriteThem) {
    Json definitions = {
        {"rabbit_version", "3.12.1"},
        {"users",
         {{{"name", "a"}, {"password", "clear"}, {"tags", "administrator, monitoring,"}},
          {{"name", "b"},
           {"password_hash", "kTH0VTAzTuw6fpIBX0bRKMyclsH5r1fDqsPVYrBdV6gWrpIy"},
           {"hashing_algorithm", "rabbit_password_hashing_md5"},
           {"tags", Json::array()}},
          {{"name", "c"}, {"tags", ""}},
          {{"name", "d"}, {"administrator", "true"}}}}};
    ImportResult result = import_definitions(definitions);
    ASSERT_EQ(result.error, "");
    EXPECT_EQ(describe(result), (std::vector<std::string>{
                                    "user a [administrator,monitoring] hash 36", "user b [] hash 0",
                                    "user c [] hash 0", "user d [administrator] hash 0"}));
    EXPECT_TRUE(access::password_matches(find_user(result, "a")->password_hash, "clear"));
    EXPECT_EQ(result.skipped, (std::vector<std::string>{
                                  "user 'b': password hashed with rabbit_password_hashing_md5, "
                                  "which is not supported; imported without a password"}));
    // A file from before 3.6 hashed with MD5 when it names no algorithm.
    ImportResult old = import_definitions(
        {{"rabbit_version", "3.5.7"},
         {"users", {{{"name", "e"}, {"password_hash", "kTH0VTAz"}, {"tags", ""}}}}});
    ASSERT_EQ(old.error, "");
    EXPECT_EQ(describe(old), (std::vector<std::string>{"user e [] hash 0"}));
    EXPECT_EQ(old.skipped.size(), 1u);
}

TEST(DefinitionsImportTest, OneVhostsFormPutsEverythingInThatVhost) {
    const Json definitions = fixture("rabbitmq-3.10-api-definitions-prod.json");
    for (const std::string vhost : {"prod", "elsewhere"}) {
        ImportResult result = import_definitions(definitions, vhost);
        ASSERT_EQ(result.error, "");
        // Exchanges, parameters (limits, an operator policy), policies, queues, bindings.
        ASSERT_EQ(result.ops.size(), 6u + 2 + 2 + 5 + 7);
        EXPECT_EQ(describe(result.ops[6]), "vhost limits " + vhost + " 10 20");
        EXPECT_EQ(describe(result.ops[7]),
                  "operator policy " + vhost + " op-limit ^q\\. queues 0 {\"max-length\":100}");
        EXPECT_EQ(describe(result.ops[8]),
                  "policy " + vhost + " max-len ^q\\. queues 1 {\"max-length\":500}");
        for (const DefinitionOp& op : result.ops) {
            // The limits and policies are admin ops, which name their vhost themselves.
            std::string named = op.vhost;
            if (const auto* limits = std::get_if<SetVhostLimitsOp>(&op.op)) named = limits->vhost;
            if (const auto* policy = std::get_if<SetPolicyOp>(&op.op)) named = policy->vhost;
            EXPECT_EQ(named, vhost) << describe(op);
        }
        EXPECT_EQ(result.skipped, std::vector<std::string>{});
    }
    // Users and the like are no vhost's: the per-vhost import leaves them.
    ImportResult result = import_definitions(fixture("rabbitmq-3.10-definitions.json"), "prod");
    ASSERT_EQ(result.error, "");
    EXPECT_EQ(result.skipped.front(), "users: not part of one vhost's definitions");
    EXPECT_TRUE(std::none_of(result.ops.begin(), result.ops.end(), [](const DefinitionOp& op) {
        return is_admin_op(op.op) && !std::holds_alternative<SetVhostLimitsOp>(op.op) &&
               !std::holds_alternative<SetPolicyOp>(op.op);
    }));
}

TEST(DefinitionsImportTest, SkipsWhatEveryVhostHasAndReservedNames) {
    const Json definitions = Json::parse(R"({
      "exchanges": [
        {"name": "amq.direct", "vhost": "/", "type": "direct", "durable": true,
         "auto_delete": false},
        {"name": "", "vhost": "/", "type": "direct", "durable": true, "auto_delete": false}],
      "queues": [
        {"name": "amq.q", "vhost": "/", "durable": true, "auto_delete": false},
        {"name": "q", "vhost": "/", "durable": true, "auto_delete": false,
         "arguments": null, "type": "stream"}],
      "bindings": [
        {"source": "", "vhost": "/", "destination": "q", "destination_type": "queue",
         "routing_key": "q", "arguments": {}}],
      "global_parameters": [{"name": "cluster_name", "value": "c"},
                            {"name": "mqtt_port_to_vhost_mapping", "value": {}}],
      "parameters": [{"vhost": "/", "component": "federation-upstream", "name": "up",
                      "value": {"uri": "amqp://"}}]
    })");
    ImportResult result = import_definitions(definitions);
    ASSERT_EQ(result.error, "");
    // A type named only beside the arguments still reaches the declare, which refuses it.
    EXPECT_EQ(describe(result),
              (std::vector<std::string>{"queue / q D {\"x-queue-type\":\"stream\"}"}));
    EXPECT_EQ(result.skipped,
              (std::vector<std::string>{
                  "exchange 'amq.direct' in vhost '/': predeclared in every vhost",
                  "exchange '' in vhost '/': predeclared in every vhost",
                  "global parameter 'mqtt_port_to_vhost_mapping': not supported",
                  "parameter 'federation-upstream/up' in vhost '/': runtime parameters of "
                  "component 'federation-upstream' are not supported",
                  "queue 'amq.q' in vhost '/': names starting with 'amq.' are reserved",
                  "binding ' -> q' in vhost '/': the default exchange's bindings are implicit"}));
}

TEST(DefinitionsImportTest, RefusesMalformedDefinitionsNamingTheItem) {
    const Json queue = {{"name", "q"},
                        {"vhost", "v"},
                        {"durable", true},
                        {"auto_delete", false},
                        {"arguments", Json::object()}};
    auto with = [](Json item, const std::string& key, Json value) {
        if (value.is_discarded()) {
            item.erase(key);
        } else {
            item[key] = std::move(value);
        }
        return item;
    };
    const Json removed = Json(Json::value_t::discarded);
    const Json exchange = {{"name", "x"},
                           {"vhost", "v"},
                           {"type", "topic"},
                           {"durable", true},
                           {"auto_delete", false},
                           {"internal", false},
                           {"arguments", Json::object()}};
    const Json binding = {{"source", "x"},      {"vhost", "v"},
                          {"destination", "q"}, {"destination_type", "queue"},
                          {"routing_key", "k"}, {"arguments", Json::object()}};
    const Json user = {{"name", "u"},
                       {"password_hash", "kTH0VTAzTuw6fpIBX0bRKMyclsH5r1fDqsPVYrBdV6gWrpIy"},
                       {"hashing_algorithm", "rabbit_password_hashing_sha256"},
                       {"tags", "administrator"}};
    struct Row {
        Json definitions;
        std::string error;
    };
    const Row rows[] = {
        {Json::array(), "definitions: expected a JSON object, got array"},
        {{{"queues", Json::object()}}, "queues: expected a list, got object"},
        {{{"queues", {1}}}, "queues[0]: a queue must be an object, got number"},
        {{{"queues", {with(queue, "name", removed)}}}, "queues[0]: missing \"name\""},
        {{{"queues", {with(queue, "name", 7)}}},
         "queues[0]: \"name\" must be a string, got number"},
        {{{"queues", {with(queue, "vhost", removed)}}}, "queues[0]: missing \"vhost\""},
        {{{"queues", {with(queue, "durable", "yes")}}},
         "queue 'q' in vhost 'v': \"durable\" must be true or false, got string"},
        {{{"queues", {with(queue, "auto_delete", removed)}}},
         "queue 'q' in vhost 'v': missing \"auto_delete\""},
        {{{"queues", {with(queue, "arguments", Json::array())}}},
         "queue 'q' in vhost 'v': arguments: expected a JSON object, got array"},
        {{{"exchanges", {with(exchange, "type", "x-delayed-message")}}},
         "exchange 'x' in vhost 'v': unknown exchange type 'x-delayed-message'"},
        {{{"exchanges", {with(exchange, "type", "Topic")}}},
         "exchange 'x' in vhost 'v': unknown exchange type 'Topic'"},
        {{{"exchanges", {with(exchange, "internal", 1)}}},
         "exchange 'x' in vhost 'v': \"internal\" must be true or false, got number"},
        {{{"bindings", {with(binding, "destination_type", "topic")}}},
         "binding 'x -> q' in vhost 'v': \"destination_type\" must be 'queue' or 'exchange', got "
         "'topic'"},
        {{{"bindings", {with(binding, "routing_key", removed)}}},
         "binding 'x -> q' in vhost 'v': missing \"routing_key\""},
        {{{"users", {with(user, "password_hash", "not base64!")}}},
         "user 'u': \"password_hash\" is not valid base64"},
        {{{"users", {with(user, "password_hash", "AAAA")}}},
         "user 'u': a rabbit_password_hashing_sha256 hash has 36 bytes, \"password_hash\" has 3"},
        {{{"users", {with(user, "hashing_algorithm", "rot13")}}},
         "user 'u': unknown hashing algorithm 'rot13'"},
        {{{"users", {with(user, "password", "p")}}},
         "user 'u': both \"password\" and \"password_hash\" are given"},
        {{{"users", {with(user, "tags", removed)}}}, "user 'u': missing \"tags\""},
        {{{"users", {with(user, "tags", 3)}}},
         "user 'u': \"tags\" must be a list or a comma-separated string, got number"},
        {{{"users", {with(user, "limits", {{"max-queues", 3}})}}},
         "user 'u': unknown user limit 'max-queues'"},
        {{{"users", {with(user, "limits", {{"max-channels", "3"}})}}},
         "user 'u': limit 'max-channels' must be an integer, got \"3\""},
        {{{"permissions",
           {{{"user", "u"}, {"vhost", "v"}, {"configure", "("}, {"write", ""}, {"read", ""}}}}},
         "permissions of user 'u' in vhost 'v': regular expression '(' is invalid"},
        {{{"permissions", {{{"user", "u"}, {"vhost", "v"}, {"configure", ".*"}, {"read", ""}}}}},
         "permissions of user 'u' in vhost 'v': missing \"write\""},
        {{{"topic_permissions",
           {{{"user", "u"}, {"vhost", "v"}, {"exchange", "t"}, {"write", "["}, {"read", ""}}}}},
         "topic permissions of user 'u' on exchange 't' in vhost 'v': regular expression '[' is "
         "invalid"},
        {{{"parameters",
           {{{"vhost", "v"},
             {"component", "vhost-limits"},
             {"name", "limits"},
             {"value", {{"max-exchanges", 1}}}}}}},
         "parameter 'vhost-limits/limits' in vhost 'v': unknown vhost limit 'max-exchanges'"},
        {{{"parameters",
           {{{"vhost", "v"},
             {"component", "vhost-limits"},
             {"name", "limits"},
             {"value", {{"max-queues", 1.5}}}}}}},
         "parameter 'vhost-limits/limits' in vhost 'v': limit 'max-queues' must be an integer, got "
         "1.5"},
        {{{"vhosts", {{{"description", "no name"}}}}}, "vhosts[0]: missing \"name\""},
    };
    for (const Row& row : rows) {
        // A valid queue ahead of the bad item: nothing at all is to be applied.
        Json definitions = row.definitions;
        if (definitions.is_object() && !definitions.contains("queues")) {
            definitions["queues"] = {queue};
        }
        ImportResult result = import_definitions(definitions);
        EXPECT_EQ(result.error, row.error) << json::dump_json(row.definitions);
        EXPECT_TRUE(result.ops.empty()) << row.error;
        EXPECT_TRUE(result.skipped.empty()) << row.error;
    }
}

// ---- export ----

TEST(DefinitionsExportTest, ACatalogInRabbitmqsShapes) {
    Catalog catalog;
    wire::FieldTable table = {{"x-max-length", wire::FieldValue::int32(10)}};
    const std::string queue_arguments = wire::field_table_content(table);
    table = {{"x-match", wire::FieldValue::string("any")}, {"k", wire::FieldValue::int8(1)}};
    const std::string binding_arguments = wire::field_table_content(table);
    const std::vector<u8> hash =
        access::hash_password_with_salt("secret", access::PasswordSalt{1, 2, 3, 4});
    const CatalogUpdate updates[] = {
        VhostAdded{"/"},
        VhostAdded{"v"},
        UserPut{"u", hash, {"administrator", "monitoring"}},
        UserPut{"n", {}, {}},
        PermissionsPut{"u", "v", ".*", "^w", ""},
        TopicPermissionsPut{"u", "v", "amq.topic", "^{username}", ".*"},
        VhostLimitsPut{"v", {5, std::nullopt}},
        UserLimitsPut{"u", {std::nullopt, 7}},
        ExchangeAdded{"v", {"x", routing::ExchangeType::headers, true, false, false, {}}},
        ExchangeAdded{"v", {"i", routing::ExchangeType::fanout, true, true, true, {}}},
        ExchangeAdded{"v", {"transient", routing::ExchangeType::direct, false, false, false, {}}},
        QueueAdded{"v", {"q", QueueId(1), ShardId(0), true, false, false, {}, queue_arguments}},
        QueueAdded{"v", {"excl", QueueId(2), ShardId(0), true, true, false, {}, {}}},
        BindingChange{"v", "x", routing::Destination::queue("q"), "", binding_arguments, true},
        BindingChange{"v", "x", routing::Destination::exchange("i"), "k", {}, true},
        BindingChange{"v", "amq.topic", routing::Destination::queue("q"), "a.#", {}, true},
        BindingChange{"v", "x", routing::Destination::queue("excl"), "", {}, true},
        BindingChange{"v", "transient", routing::Destination::queue("q"), "t", {}, true},
    };
    for (const CatalogUpdate& update : updates) catalog.apply(update);
    const Json expected = Json::parse(R"({
      "rabbit_version": "3.10.8", "rabbitmq_version": "3.10.8",
      "product_name": "Lepus", "product_version": "1.2.3",
      "users": [
        {"name": "n", "password_hash": "", "hashing_algorithm": "rabbit_password_hashing_sha256",
         "tags": [], "limits": {}},
        {"name": "u", "password_hash": ")" +
                                      access::base64_encode(hash) + R"(",
         "hashing_algorithm": "rabbit_password_hashing_sha256",
         "tags": ["administrator", "monitoring"], "limits": {"max-channels": 7}}],
      "vhosts": [
        {"name": "/", "limits": [], "metadata": {"description": "", "tags": []}},
        {"name": "v", "limits": [["max-connections", 5]],
         "metadata": {"description": "", "tags": []}}],
      "permissions": [
        {"user": "u", "vhost": "v", "configure": ".*", "write": "^w", "read": ""}],
      "topic_permissions": [
        {"user": "u", "vhost": "v", "exchange": "amq.topic", "write": "^{username}",
         "read": ".*"}],
      "parameters": [
        {"vhost": "v", "component": "vhost-limits", "name": "limits",
         "value": {"max-connections": 5}}],
      "global_parameters": [],
      "policies": [],
      "queues": [
        {"name": "q", "vhost": "v", "durable": true, "auto_delete": false,
         "arguments": {"x-max-length": 10}}],
      "exchanges": [
        {"name": "i", "vhost": "v", "type": "fanout", "durable": true, "auto_delete": true,
         "internal": true, "arguments": {}},
        {"name": "x", "vhost": "v", "type": "headers", "durable": true, "auto_delete": false,
         "internal": false, "arguments": {}}],
      "bindings": [
        {"source": "amq.topic", "vhost": "v", "destination": "q", "destination_type": "queue",
         "routing_key": "a.#", "arguments": {}},
        {"source": "x", "vhost": "v", "destination": "i", "destination_type": "exchange",
         "routing_key": "k", "arguments": {}},
        {"source": "x", "vhost": "v", "destination": "q", "destination_type": "queue",
         "routing_key": "", "arguments": {"k": 1, "x-match": "any"}}]
    })");
    EXPECT_EQ(export_definitions(catalog, "1.2.3"), expected);

    const Json expected_vhost = Json::parse(R"({
      "rabbit_version": "3.10.8",
      "parameters": [
        {"vhost": "v", "component": "vhost-limits", "name": "limits",
         "value": {"max-connections": 5}}],
      "policies": [],
      "queues": [{"name": "q", "durable": true, "auto_delete": false,
                  "arguments": {"x-max-length": 10}}],
      "exchanges": [
        {"name": "i", "type": "fanout", "durable": true, "auto_delete": true, "internal": true,
         "arguments": {}},
        {"name": "x", "type": "headers", "durable": true, "auto_delete": false,
         "internal": false, "arguments": {}}],
      "bindings": [
        {"source": "amq.topic", "destination": "q", "destination_type": "queue",
         "routing_key": "a.#", "arguments": {}},
        {"source": "x", "destination": "i", "destination_type": "exchange", "routing_key": "k",
         "arguments": {}},
        {"source": "x", "destination": "q", "destination_type": "queue", "routing_key": "",
         "arguments": {"k": 1, "x-match": "any"}}]
    })");
    EXPECT_EQ(export_vhost_definitions(catalog, "v", "1.2.3"), expected_vhost);
}

// ---- round trips through the metadata authority ----

// RabbitMQ writes an operator policy set by rabbitmqctl with its definition as [key, value]
// pairs, which it cannot import; Lepus writes the object, which it can (and exports as such).
void operator_policy_definitions_as_objects(Json& definitions) {
    for (Json& parameter : definitions["parameters"]) {
        if (parameter["component"] != "operator_policy") continue;
        Json object = Json::object();
        for (const Json& pair : parameter["value"]["definition"]) object[pair[0]] = pair[1];
        parameter["value"]["definition"] = object;
    }
}

class DefinitionsRoundTripTest : public ::testing::TestWithParam<SimConfig> {
protected:
    // Sends each op to shard 0 as an admin front end would, from the shard a connection would
    // be on (queues are homed there), and returns the refusals, one line each.
    static std::vector<std::string> apply(Simulation& sim, const ImportResult& result) {
        std::vector<std::string> refused;
        u32 from = 0;
        for (const DefinitionOp& op : result.ops) {
            from = (from + 1) % sim.shard_count();
            auto request = std::make_unique<MetaRequest>();
            request->vhost = op.vhost;
            request->requester.connection = ConnectionKey{ShardId(from), 1, 1};
            request->requester.channel = 1;
            request->op = op.op;
            sim.post(from, 0, std::move(request));
            sim.run();
            auto replies = sim.take<std::unique_ptr<MetaReply>>(from);
            EXPECT_EQ(replies.size(), 1u);
            if (!replies.empty() && replies[0]->code != amqp::ReplyCode::reply_success) {
                refused.push_back(describe(op) + ": " + replies[0]->text);
            }
        }
        return refused;
    }

    // The lists as sets: RabbitMQ writes them in its tables' order.
    static Json normalised(Json definitions) {
        for (auto& [key, value] : definitions.items()) {
            if (!value.is_array()) continue;
            std::vector<std::string> items;
            for (const Json& item : value) items.push_back(json::dump_json(item));
            std::sort(items.begin(), items.end());
            value = Json::array();
            for (const std::string& item : items) value.push_back(Json::parse(item));
        }
        return definitions;
    }
};

TEST_P(DefinitionsRoundTripTest, RabbitmqsExportComesBackAsRabbitmqWroteIt) {
    Simulation sim(GetParam(), {"/"});
    const Json rabbitmq = fixture("rabbitmq-3.10-api-definitions.json");
    ImportResult result = import_definitions(rabbitmq);
    ASSERT_EQ(result.error, "");
    // Quorum queues are refused by the declare, as Lepus has classic queues only.
    EXPECT_EQ(apply(sim, result),
              (std::vector<std::string>{
                  "queue prod q.quorum D {\"x-queue-type\":\"quorum\"}: PRECONDITION_FAILED - "
                  "invalid arg 'x-queue-type' for queue 'q.quorum' in vhost 'prod': "
                  "\"queue type 'quorum' is not supported, only 'classic'\""}));

    Json lepus = export_definitions(sim.broker(0).catalog(), "1.2.3");
    for (u32 shard = 1; shard < sim.shard_count(); shard++) {
        EXPECT_EQ(export_definitions(sim.broker(shard).catalog(), "1.2.3"), lepus) << shard;
    }
    // What differs from RabbitMQ's own: the product, the vhosts' fields (its management API
    // names only the vhost), what is not supported, and the refused quorum queue.
    Json expected = rabbitmq;
    expected["product_name"] = "Lepus";
    expected["product_version"] = "1.2.3";
    expected["global_parameters"] = Json::array();
    operator_policy_definitions_as_objects(expected);
    for (Json& vhost : lepus["vhosts"]) vhost = {{"name", vhost["name"]}};
    Json& queues = expected["queues"];
    queues.erase(std::remove_if(queues.begin(), queues.end(),
                                [](const Json& q) { return q["name"] == "q.quorum"; }),
                 queues.end());
    EXPECT_EQ(normalised(lepus), normalised(expected));

    // And Lepus's export imports into a fresh broker as the same catalog.
    Simulation again(GetParam(), {"/"});
    ImportResult reimport =
        import_definitions(export_definitions(sim.broker(0).catalog(), "1.2.3"));
    ASSERT_EQ(reimport.error, "");
    EXPECT_EQ(reimport.skipped, std::vector<std::string>{});
    EXPECT_EQ(apply(again, reimport), std::vector<std::string>{});
    EXPECT_EQ(export_definitions(again.broker(0).catalog(), "1.2.3"),
              export_definitions(sim.broker(0).catalog(), "1.2.3"));
    EXPECT_EQ(again.broker(0).catalog().users().authenticate("alice", "alice-secret"),
              access::LoginOutcome::ok);
}

TEST_P(DefinitionsRoundTripTest, OneVhostsExportComesBackAsRabbitmqWroteIt) {
    Simulation sim(GetParam(), {"/", "prod"});
    const Json rabbitmq = fixture("rabbitmq-3.10-api-definitions-prod.json");
    ImportResult result = import_definitions(rabbitmq, "prod");
    ASSERT_EQ(result.error, "");
    EXPECT_EQ(apply(sim, result).size(), 1u);  // the quorum queue
    Json expected = rabbitmq;
    operator_policy_definitions_as_objects(expected);
    Json& queues = expected["queues"];
    queues.erase(std::remove_if(queues.begin(), queues.end(),
                                [](const Json& q) { return q["name"] == "q.quorum"; }),
                 queues.end());
    EXPECT_EQ(normalised(export_vhost_definitions(sim.broker(0).catalog(), "prod", "1.2.3")),
              normalised(expected));
}

INSTANTIATE_TEST_SUITE_P(Shards, DefinitionsRoundTripTest,
                         ::testing::Values(SimConfig{1}, SimConfig{3},
                                           SimConfig{3, sim::Interleaving::random, 11}));

}  // namespace
}  // namespace lepus::core
