#include "core/definitions_json_policy.h"

namespace lepus::core {

using Json = nlohmann::json;

namespace {

std::string type_error(const char* key, const char* expected, const Json& value) {
    return std::string("\"") + key + "\" must be " + expected + ", got " + value.type_name();
}

// A definition as an object, or as RabbitMQ's proplist form: a list of [key, value] pairs.
bool definition_object(const Json& value, Json& out) {
    if (value.is_object()) {
        out = value;
        return true;
    }
    if (!value.is_array()) return false;
    out = Json::object();
    for (const Json& pair : value) {
        if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string()) return false;
        out[pair[0].get<std::string>()] = pair[1];
    }
    return true;
}

}  // namespace

std::variant<SetPolicyOp, std::string> policy_from_json(const Json& fields, PolicyKind kind,
                                                        std::string name, std::string vhost) {
    SetPolicyOp op;
    op.vhost = std::move(vhost);
    op.policy.kind = kind;
    op.policy.name = std::move(name);
    if (!fields.is_object()) return type_error("value", "an object", fields);
    auto pattern = fields.find("pattern");
    if (pattern == fields.end()) return std::string("missing \"pattern\"");
    if (!pattern->is_string()) return type_error("pattern", "a string", *pattern);
    op.policy.pattern = pattern->get<std::string>();
    auto apply_to = fields.find("apply-to");
    if (apply_to != fields.end()) {
        if (!apply_to->is_string()) return type_error("apply-to", "a string", *apply_to);
        op.apply_to = apply_to->get<std::string>();
    }
    auto priority = fields.find("priority");
    if (priority != fields.end()) {
        if (!priority->is_number_integer()) {
            return type_error("priority", "an integer", *priority);
        }
        op.policy.priority = priority->get<i64>();
    }
    auto definition = fields.find("definition");
    if (definition == fields.end()) return std::string("missing \"definition\"");
    Json object;
    if (!definition_object(*definition, object)) {
        return type_error("definition", "an object", *definition);
    }
    op.policy.definition = object.dump();
    Policy checked = op.policy;
    if (std::optional<std::string> error = validate_policy(checked, op.apply_to)) {
        while (!error->empty() && error->back() == '\n') error->pop_back();
        for (char& c : *error) c = c == '\n' ? ' ' : c;
        return *error;
    }
    return op;
}

void append_policies_json(const VHost& vhost, Json& policies, Json& parameters) {
    for (const PolicyEntry& entry : vhost.policies.entries()) {
        const Policy& policy = entry.policy();
        Json definition = Json::parse(policy.definition, nullptr, false);
        std::string apply_to(to_string(policy.apply_to));
        if (policy.kind == PolicyKind::regular) {
            policies.push_back({{"vhost", vhost.name},
                                {"name", policy.name},
                                {"pattern", policy.pattern},
                                {"apply-to", apply_to},
                                {"definition", std::move(definition)},
                                {"priority", policy.priority}});
            continue;
        }
        // An object, which RabbitMQ 3.10 imports (and then exports as it is); the [key, value]
        // pairs its own export writes for an operator policy set by rabbitmqctl, it refuses
        // to import ("definition must be a dictionary").
        parameters.push_back({{"vhost", vhost.name},
                              {"component", "operator_policy"},
                              {"name", policy.name},
                              {"value",
                               {{"pattern", policy.pattern},
                                {"apply-to", apply_to},
                                {"definition", std::move(definition)},
                                {"priority", policy.priority}}}});
    }
}

}  // namespace lepus::core
