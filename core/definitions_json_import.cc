// Import: RabbitMQ's definitions JSON, validated as RabbitMQ 3.10's rabbit_definitions reads it,
// turned into the MetaOps that recreate it (the export is in definitions_json.cc).
#include <charconv>
#include <optional>
#include <utility>
#include <variant>

#include "core/access/base64.h"
#include "core/access/password_hash.h"
#include "core/access/permission_pattern.h"
#include "core/access/permission_table.h"
#include "core/definitions_json.h"
#include "core/definitions_json_policy.h"
#include "core/json/field_table_json.h"

namespace lepus::core {

using Json = nlohmann::json;

namespace {

std::string in_quotes(std::string_view text) { return "'" + std::string(text) + "'"; }

// rabbit_auth_backend_internal's hashing_algorithm/2: a user without "hashing_algorithm" was
// hashed with MD5 when the file comes from RabbitMQ 3.0 to 3.5, with SHA-256 otherwise.
bool predates_sha256(const Json& definitions) {
    const Json* version = nullptr;
    for (const char* key : {"rabbitmq_version", "rabbit_version"}) {
        auto it = definitions.find(key);
        if (it != definitions.end() && it->is_string()) {
            version = &*it;
            break;
        }
    }
    if (version == nullptr) return false;
    const std::string& text = version->get_ref<const std::string&>();
    int major = 0;
    int minor = 0;
    const char* end = text.data() + text.size();
    auto [after_major, major_error] = std::from_chars(text.data(), end, major);
    if (major_error != std::errc{} || after_major == end || *after_major != '.') return false;
    auto [after_minor, minor_error] = std::from_chars(after_major + 1, end, minor);
    if (minor_error != std::errc{}) return false;
    return major == 3 && minor < 6;
}

class Importer {
public:
    Importer(const Json& definitions, const std::string& default_vhost, ImportResult& result)
        : definitions_(definitions), default_vhost_(default_vhost), result_(result) {}

    bool run();

private:
    // The item being read, for error texts: "queues[3]" until its name is known, then
    // "queue 'q' in vhost 'v'".
    struct Item {
        const Json& json;
        std::string label;
    };

    bool fail(const std::string& label, const std::string& text) {
        result_.error = label + ": " + text;
        return false;
    }
    bool section(const char* name, const Json*& out);
    // Each object of a section, in order; false once `read` fails.
    template <typename Read>
    bool for_each_item(const char* section_name, const char* singular, Read&& read);

    bool string_field(const Item& item, const char* key, std::string& out);
    bool optional_string_field(const Item& item, const char* key, std::string& out);
    bool bool_field(const Item& item, const char* key, bool& out);
    bool optional_bool_field(const Item& item, const char* key, bool& out);
    bool arguments_field(const Item& item, std::string& out);
    bool limit_value(const Item& item, const std::string& name, const Json& value, i64& out);
    // The vhost a vhost-scoped item goes to, and its label "KIND 'NAME' in vhost 'V'".
    bool item_vhost(Item& item, const char* kind, const std::string& name, std::string& vhost);

    bool read_user(Item& item);
    bool read_tags(const Item& item, std::vector<std::string>& tags);
    bool read_password(const Item& item, const std::string& name, std::vector<u8>& hash);
    bool read_user_limits(const Item& item, const std::string& name);
    bool read_vhost(Item& item);
    bool read_permission(Item& item);
    bool read_topic_permission(Item& item);
    bool read_parameter(Item& item);
    bool read_global_parameter(Item& item);
    bool read_policy(Item& item);
    bool add_policy(const Item& item, std::variant<SetPolicyOp, std::string> policy);
    bool read_queue(Item& item);
    bool read_exchange(Item& item);
    bool read_binding(Item& item);

    void add(std::string vhost, MetaOp op) {
        result_.ops.push_back(DefinitionOp{std::move(vhost), std::move(op)});
    }
    void add_admin(MetaOp op) { add({}, std::move(op)); }

    const Json& definitions_;
    const std::string& default_vhost_;
    ImportResult& result_;
};

bool Importer::section(const char* name, const Json*& out) {
    out = nullptr;
    auto it = definitions_.find(name);
    if (it == definitions_.end() || it->is_null()) return true;
    if (!it->is_array()) {
        return fail(name, std::string("expected a list, got ") + it->type_name());
    }
    out = &*it;
    return true;
}

template <typename Read>
bool Importer::for_each_item(const char* section_name, const char* singular, Read&& read) {
    const Json* list = nullptr;
    if (!section(section_name, list)) return false;
    if (list == nullptr) return true;
    usize index = 0;
    for (const Json& json : *list) {
        Item item{json, std::string(section_name) + "[" + std::to_string(index++) + "]"};
        if (!json.is_object()) {
            return fail(item.label, std::string("a ") + singular + " must be an object, got " +
                                        json.type_name());
        }
        if (!read(item)) return false;
    }
    return true;
}

bool Importer::string_field(const Item& item, const char* key, std::string& out) {
    auto it = item.json.find(key);
    if (it == item.json.end()) return fail(item.label, std::string("missing \"") + key + "\"");
    if (!it->is_string()) {
        return fail(item.label,
                    std::string("\"") + key + "\" must be a string, got " + it->type_name());
    }
    out = it->get<std::string>();
    return true;
}

bool Importer::optional_string_field(const Item& item, const char* key, std::string& out) {
    if (!item.json.contains(key)) return true;
    return string_field(item, key, out);
}

bool Importer::bool_field(const Item& item, const char* key, bool& out) {
    auto it = item.json.find(key);
    if (it == item.json.end()) return fail(item.label, std::string("missing \"") + key + "\"");
    if (!it->is_boolean()) {
        return fail(item.label,
                    std::string("\"") + key + "\" must be true or false, got " + it->type_name());
    }
    out = it->get<bool>();
    return true;
}

bool Importer::optional_bool_field(const Item& item, const char* key, bool& out) {
    if (!item.json.contains(key)) return true;
    return bool_field(item, key, out);
}

// RabbitMQ takes a missing or null "arguments" as none.
bool Importer::arguments_field(const Item& item, std::string& out) {
    auto it = item.json.find("arguments");
    if (it == item.json.end() || it->is_null()) return true;
    wire::FieldTable table;
    std::string error;
    if (!json::table_from_json(*it, table, error)) return fail(item.label, "arguments: " + error);
    out = wire::field_table_content(table);
    return true;
}

bool Importer::limit_value(const Item& item, const std::string& name, const Json& value, i64& out) {
    if (value.is_number_integer() &&
        !(value.is_number_unsigned() && value.get<u64>() > INT64_MAX)) {
        out = value.get<i64>();
        return true;
    }
    return fail(item.label,
                "limit " + in_quotes(name) + " must be an integer, got " + json::dump_json(value));
}

bool Importer::item_vhost(Item& item, const char* kind, const std::string& name,
                          std::string& vhost) {
    if (!default_vhost_.empty()) {
        vhost = default_vhost_;
    } else if (!string_field(item, "vhost", vhost)) {
        return false;
    }
    item.label = std::string(kind) + " " + in_quotes(name) + " in vhost " + in_quotes(vhost);
    return true;
}

// ---- users ----

bool Importer::read_user(Item& item) {
    std::string name;
    if (!string_field(item, "name", name)) return false;
    item.label = "user " + in_quotes(name);
    std::vector<std::string> tags;
    std::vector<u8> hash;
    if (!read_tags(item, tags) || !read_password(item, name, hash)) return false;
    add_admin(PutUserOp{name, std::move(hash), std::move(tags)});
    return read_user_limits(item, name);
}

// A list of tags, or one string of comma-separated tags as older exports write them; without
// "tags", the "administrator" flag of files from before 3.0 (rabbit_auth_backend_internal's
// put_user). Blanks around a tag are dropped, as is an empty one.
bool Importer::read_tags(const Item& item, std::vector<std::string>& tags) {
    auto add_tag = [&](std::string_view tag) {
        const auto first = tag.find_first_not_of(' ');
        if (first == std::string_view::npos) return;
        tags.emplace_back(tag.substr(first, tag.find_last_not_of(' ') - first + 1));
    };
    auto it = item.json.find("tags");
    if (it == item.json.end()) {
        auto admin = item.json.find("administrator");
        if (admin == item.json.end()) return fail(item.label, "missing \"tags\"");
        if (*admin == true || *admin == "true") add_tag(access::tag_administrator);
        return true;
    }
    if (it->is_string()) {
        std::string_view text = it->get_ref<const std::string&>();
        for (usize start = 0; start <= text.size();) {
            usize comma = std::min(text.find(',', start), text.size());
            add_tag(text.substr(start, comma - start));
            start = comma + 1;
        }
        return true;
    }
    if (!it->is_array()) {
        return fail(item.label, std::string("\"tags\" must be a list or a comma-separated "
                                            "string, got ") +
                                    it->type_name());
    }
    for (const Json& tag : *it) {
        if (!tag.is_string()) {
            return fail(item.label, std::string("a tag must be a string, got ") + tag.type_name());
        }
        add_tag(tag.get_ref<const std::string&>());
    }
    return true;
}

// "password_hash" (base64, "" for none) with its "hashing_algorithm", or a clear "password",
// hashed here with a fresh salt (so it goes no further), or neither: no password, as RabbitMQ
// creates a user meant for another authentication mechanism.
bool Importer::read_password(const Item& item, const std::string& name, std::vector<u8>& hash) {
    const bool has_password = item.json.contains("password");
    const bool has_hash = item.json.contains("password_hash");
    if (has_password && has_hash) {
        return fail(item.label, "both \"password\" and \"password_hash\" are given");
    }
    if (has_password) {
        std::string password;
        if (!string_field(item, "password", password)) return false;
        hash = access::hash_password(password);
        return true;
    }
    if (!has_hash) return true;
    std::string text;
    if (!string_field(item, "password_hash", text)) return false;
    std::string algorithm = predates_sha256(definitions_)
                                ? "rabbit_password_hashing_md5"
                                : std::string(access::password_hashing_algorithm);
    if (!optional_string_field(item, "hashing_algorithm", algorithm)) return false;
    std::optional<std::vector<u8>> decoded = access::base64_decode(text);
    if (!decoded) return fail(item.label, "\"password_hash\" is not valid base64");
    if (decoded->empty()) return true;
    if (algorithm == access::password_hashing_algorithm) {
        if (decoded->size() != access::password_hash_size) {
            return fail(item.label, "a " + algorithm + " hash has " +
                                        std::to_string(access::password_hash_size) +
                                        " bytes, \"password_hash\" has " +
                                        std::to_string(decoded->size()));
        }
        hash = std::move(*decoded);
        return true;
    }
    // RabbitMQ's other two: the user is imported without a password rather than refused, so
    // the rest of an old broker's definitions (its permissions name the user) still imports;
    // the operator sets a new password. Nothing can log in with it meanwhile.
    if (algorithm == "rabbit_password_hashing_md5" ||
        algorithm == "rabbit_password_hashing_sha512") {
        result_.skipped.push_back("user " + in_quotes(name) + ": password hashed with " +
                                  algorithm +
                                  ", which is not supported; imported without a password");
        return true;
    }
    return fail(item.label, "unknown hashing algorithm " + in_quotes(algorithm));
}

bool Importer::read_user_limits(const Item& item, const std::string& name) {
    auto it = item.json.find("limits");
    if (it == item.json.end() || it->is_null()) return true;
    if (!it->is_object()) {
        return fail(item.label,
                    std::string("\"limits\" must be an object, got ") + it->type_name());
    }
    access::UserLimits limits;
    for (const auto& [key, value] : it->items()) {
        i64 limit = 0;
        if (!limit_value(item, key, value, limit)) return false;
        if (key == "max-connections") {
            limits.max_connections = limit;
        } else if (key == "max-channels") {
            limits.max_channels = limit;
        } else {
            return fail(item.label, "unknown user limit " + in_quotes(key));
        }
    }
    if (!(limits == access::UserLimits{})) add_admin(SetUserLimitsOp{name, limits});
    return true;
}

// ---- vhosts, permissions ----

// The description and tags live in "metadata" (3.10's export) or beside the name (the
// management API's); Lepus keeps neither. The vhost's "limits" are ignored, as RabbitMQ ignores
// them: the vhost-limits parameter carries them.
bool Importer::read_vhost(Item& item) {
    std::string name;
    if (!string_field(item, "name", name)) return false;
    item.label = "vhost " + in_quotes(name);
    auto metadata = item.json.find("metadata");
    const Json& fields =
        metadata != item.json.end() && metadata->is_object() ? *metadata : item.json;
    bool described = false;
    for (const char* key : {"description", "tags"}) {
        auto it = fields.find(key);
        if (it != fields.end() && !it->is_null() && !it->empty() && *it != "") described = true;
    }
    if (described) result_.skipped.push_back(item.label + ": description and tags are not kept");
    auto queue_type = fields.find("default_queue_type");
    if (queue_type != fields.end() && queue_type->is_string() && *queue_type != "classic") {
        result_.skipped.push_back(item.label + ": default queue type " +
                                  in_quotes(queue_type->get<std::string>()) + " is not supported");
    }
    add_admin(AddVhostOp{name});
    return true;
}

bool Importer::read_permission(Item& item) {
    SetPermissionsOp op;
    if (!string_field(item, "user", op.user) || !string_field(item, "vhost", op.vhost))
        return false;
    item.label = "permissions of user " + in_quotes(op.user) + " in vhost " + in_quotes(op.vhost);
    for (auto [key, pattern] : {std::pair{"configure", &op.configure},
                                std::pair{"write", &op.write}, std::pair{"read", &op.read}}) {
        if (!string_field(item, key, *pattern)) return false;
        if (!access::PermissionPattern::compile(*pattern)) {
            return fail(item.label,
                        access::describe(access::PermissionOutcome::invalid_pattern, *pattern));
        }
    }
    add_admin(std::move(op));
    return true;
}

bool Importer::read_topic_permission(Item& item) {
    SetTopicPermissionsOp op;
    if (!string_field(item, "user", op.user) || !string_field(item, "vhost", op.vhost) ||
        !string_field(item, "exchange", op.exchange)) {
        return false;
    }
    item.label = "topic permissions of user " + in_quotes(op.user) + " on exchange " +
                 in_quotes(op.exchange) + " in vhost " + in_quotes(op.vhost);
    for (auto [key, pattern] : {std::pair{"write", &op.write}, std::pair{"read", &op.read}}) {
        if (!string_field(item, key, *pattern)) return false;
        if (!access::PermissionPattern::compile(*pattern)) {
            return fail(item.label,
                        access::describe(access::PermissionOutcome::invalid_pattern, *pattern));
        }
    }
    add_admin(std::move(op));
    return true;
}

// ---- parameters and policies ----

bool Importer::read_parameter(Item& item) {
    std::string component;
    std::string name;
    if (!string_field(item, "component", component) || !string_field(item, "name", name)) {
        return false;
    }
    std::string vhost;
    if (!item_vhost(item, "parameter", component + "/" + name, vhost)) return false;
    if (component == "operator_policy") {
        auto value = item.json.find("value");
        return add_policy(item, policy_from_json(value == item.json.end() ? Json() : *value,
                                                 PolicyKind::operator_policy, name, vhost));
    }
    if (component != "vhost-limits") {
        result_.skipped.push_back(item.label + ": runtime parameters of component " +
                                  in_quotes(component) + " are not supported");
        return true;
    }
    if (name != "limits") {
        // RabbitMQ stores it, but looks its vhost limits up under "limits" only.
        result_.skipped.push_back(item.label + ": vhost limits take effect only as 'limits'");
        return true;
    }
    auto value = item.json.find("value");
    if (value == item.json.end() || !value->is_object()) {
        return fail(item.label, "\"value\" must be an object of limits");
    }
    access::VhostLimits limits;
    for (const auto& [key, json] : value->items()) {
        i64 limit = 0;
        if (!limit_value(item, key, json, limit)) return false;
        if (key == "max-connections") {
            limits.max_connections = limit;
        } else if (key == "max-queues") {
            limits.max_queues = limit;
        } else {
            return fail(item.label, "unknown vhost limit " + in_quotes(key));
        }
    }
    add_admin(SetVhostLimitsOp{vhost, limits});
    return true;
}

// cluster_name and internal_cluster_id name the broker that wrote the file, not something to
// carry to another one; any other global parameter is a plugin's.
bool Importer::read_global_parameter(Item& item) {
    std::string name;
    if (!string_field(item, "name", name)) return false;
    if (name == "cluster_name" || name == "internal_cluster_id") return true;
    result_.skipped.push_back("global parameter " + in_quotes(name) + ": not supported");
    return true;
}

bool Importer::read_policy(Item& item) {
    std::string name;
    if (!string_field(item, "name", name)) return false;
    std::string vhost;
    if (!item_vhost(item, "policy", name, vhost)) return false;
    return add_policy(item, policy_from_json(item.json, PolicyKind::regular, name, vhost));
}

bool Importer::add_policy(const Item& item, std::variant<SetPolicyOp, std::string> policy) {
    if (auto* error = std::get_if<std::string>(&policy)) return fail(item.label, *error);
    add_admin(std::move(std::get<SetPolicyOp>(policy)));
    return true;
}

// ---- queues, exchanges, bindings ----

bool Importer::read_queue(Item& item) {
    QueueDeclareOp op;
    if (!string_field(item, "name", op.info.name)) return false;
    std::string vhost;
    if (!item_vhost(item, "queue", op.info.name, vhost)) return false;
    if (!bool_field(item, "durable", op.info.durable) ||
        !bool_field(item, "auto_delete", op.info.auto_delete) ||
        !arguments_field(item, op.info.arguments)) {
        return false;
    }
    // rabbitmqctl's export names the type beside x-queue-type. A type given only there still
    // has to reach the declare, which refuses the types Lepus does not have.
    std::string type;
    if (!optional_string_field(item, "type", type)) return false;
    if (!type.empty() && type != "classic") {
        wire::FieldTable arguments;
        wire::decode_field_table(op.info.arguments, arguments);
        if (wire::find_field(arguments, "x-queue-type") == nullptr) {
            arguments.emplace_back("x-queue-type", wire::FieldValue::string(type));
            op.info.arguments = wire::field_table_content(arguments);
        }
    }
    if (op.info.name.starts_with("amq.")) {
        result_.skipped.push_back(item.label + ": names starting with 'amq.' are reserved");
        return true;
    }
    add(std::move(vhost), std::move(op));
    return true;
}

// The default exchange and amq.* exist in every vhost: RabbitMQ skips them with a warning.
bool Importer::read_exchange(Item& item) {
    ExchangeDeclareOp op;
    if (!string_field(item, "name", op.info.name)) return false;
    std::string vhost;
    if (!item_vhost(item, "exchange", op.info.name, vhost)) return false;
    std::string type;
    if (!string_field(item, "type", type)) return false;
    std::optional<routing::ExchangeType> parsed = routing::parse_exchange_type(type);
    if (!parsed) return fail(item.label, "unknown exchange type " + in_quotes(type));
    op.info.type = *parsed;
    if (!bool_field(item, "durable", op.info.durable) ||
        !bool_field(item, "auto_delete", op.info.auto_delete) ||
        !optional_bool_field(item, "internal", op.info.internal) ||
        !arguments_field(item, op.info.arguments)) {
        return false;
    }
    if (op.info.name.empty() || op.info.name.starts_with("amq.")) {
        result_.skipped.push_back(item.label + ": predeclared in every vhost");
        return true;
    }
    add(std::move(vhost), std::move(op));
    return true;
}

bool Importer::read_binding(Item& item) {
    std::string source;
    std::string destination;
    std::string destination_type;
    std::string routing_key;
    std::string arguments;
    if (!string_field(item, "source", source) || !string_field(item, "destination", destination) ||
        !string_field(item, "destination_type", destination_type)) {
        return false;
    }
    std::string vhost;
    if (!item_vhost(item, "binding", source + " -> " + destination, vhost)) return false;
    if (destination_type != "queue" && destination_type != "exchange") {
        return fail(item.label, "\"destination_type\" must be 'queue' or 'exchange', got " +
                                    in_quotes(destination_type));
    }
    if (!string_field(item, "routing_key", routing_key) || !arguments_field(item, arguments)) {
        return false;
    }
    if (source.empty()) {
        // Every queue is bound to the default exchange by its name, implicitly.
        result_.skipped.push_back(item.label + ": the default exchange's bindings are implicit");
        return true;
    }
    if (destination_type == "queue") {
        add(std::move(vhost),
            QueueBindOp{destination, source, std::move(routing_key), std::move(arguments), false});
    } else {
        add(std::move(vhost), ExchangeBindOp{destination, source, std::move(routing_key),
                                             std::move(arguments), false});
    }
    return true;
}

// rabbit_definitions:apply_defs/3 as 3.10.8 runs it: users, vhosts, permissions, topic
// permissions, exchanges, global parameters, policies, parameters, queues, bindings; and
// apply_defs/4, the per-vhost form: exchanges, parameters, policies, queues, bindings.
bool Importer::run() {
    if (!definitions_.is_object()) {
        return fail("definitions",
                    std::string("expected a JSON object, got ") + definitions_.type_name());
    }
    auto call = [this](bool (Importer::*read)(Item&)) {
        return [this, read](Item& item) { return (this->*read)(item); };
    };
    auto parameters = [&] {
        return for_each_item("parameters", "parameter", call(&Importer::read_parameter));
    };
    auto policies = [&] {
        return for_each_item("policies", "policy", call(&Importer::read_policy));
    };
    if (default_vhost_.empty()) {
        return for_each_item("users", "user", call(&Importer::read_user)) &&
               for_each_item("vhosts", "vhost", call(&Importer::read_vhost)) &&
               for_each_item("permissions", "permission", call(&Importer::read_permission)) &&
               for_each_item("topic_permissions", "topic permission",
                             call(&Importer::read_topic_permission)) &&
               for_each_item("exchanges", "exchange", call(&Importer::read_exchange)) &&
               for_each_item("global_parameters", "global parameter",
                             call(&Importer::read_global_parameter)) &&
               policies() && parameters() &&
               for_each_item("queues", "queue", call(&Importer::read_queue)) &&
               for_each_item("bindings", "binding", call(&Importer::read_binding));
    }
    for (const char* name :
         {"users", "vhosts", "permissions", "topic_permissions", "global_parameters"}) {
        const Json* list = nullptr;
        if (!section(name, list)) return false;
        if (list != nullptr && !list->empty()) {
            result_.skipped.push_back(std::string(name) + ": not part of one vhost's definitions");
        }
    }
    return for_each_item("exchanges", "exchange", call(&Importer::read_exchange)) && parameters() &&
           policies() && for_each_item("queues", "queue", call(&Importer::read_queue)) &&
           for_each_item("bindings", "binding", call(&Importer::read_binding));
}

}  // namespace

ImportResult import_definitions(const Json& definitions, const std::string& default_vhost) {
    ImportResult result;
    Importer importer(definitions, default_vhost, result);
    if (!importer.run()) {
        result.ops.clear();
        result.skipped.clear();
    }
    return result;
}

}  // namespace lepus::core
