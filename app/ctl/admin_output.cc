#include "app/ctl/admin_output.h"

#include <algorithm>
#include <vector>

namespace lepus::ctl {

namespace {

using C = AdminCommand;

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

const std::string& positional(const AdminLine& line, usize index) {
    static const std::string none;
    return index < line.positionals.size() ? line.positionals[index] : none;
}

bool is_streamed_listing(C command) {
    switch (command) {
        case C::list_queues:
        case C::list_exchanges:
        case C::list_bindings:
        case C::list_connections:
        case C::list_channels:
        case C::list_consumers: return true;
        default: return false;
    }
}

bool is_listing(const AdminLine& line) {
    switch (line.spec->command) {
        case C::list_users:
        case C::list_vhosts:
        case C::list_permissions:
        case C::list_user_permissions:
        case C::list_topic_permissions:
        case C::list_user_topic_permissions:
        case C::list_policies:
        case C::list_operator_policies: return true;
        case C::list_vhost_limits:
        case C::list_user_limits: return line.global;
        default: return is_streamed_listing(line.spec->command);
    }
}

// The columns of the listings that take no column arguments.
std::vector<std::string> listing_columns(const AdminLine& line) {
    switch (line.spec->command) {
        case C::list_users: return {"user", "tags"};
        case C::list_permissions: return {"user", "configure", "write", "read"};
        case C::list_user_permissions: return {"vhost", "configure", "write", "read"};
        case C::list_topic_permissions: return {"user", "exchange", "write", "read"};
        case C::list_user_topic_permissions: return {"vhost", "exchange", "write", "read"};
        case C::list_vhost_limits: return {"vhost", "limits"};
        case C::list_user_limits: return {"user", "limits"};
        case C::list_policies:
        case C::list_operator_policies:
            return {"vhost", "name", "pattern", "apply-to", "definition", "priority"};
        default: return line.columns;
    }
}

bool is_policy_command(C command) {
    switch (command) {
        case C::set_policy:
        case C::clear_policy:
        case C::list_policies:
        case C::set_operator_policy:
        case C::clear_operator_policy:
        case C::list_operator_policies: return true;
        default: return false;
    }
}

// rabbitmqctl shows a policy's definition as its JSON text, in the table and in JSON alike.
Json definitions_as_text(const Json& rows) {
    Json out = rows;
    for (Json& row : out) {
        if (row.contains("definition")) row["definition"] = row["definition"].dump();
    }
    return out;
}

Rendered render_listing(const AdminLine& line, const Json& listed) {
    std::vector<std::string> columns = listing_columns(line);
    const Json rows = is_policy_command(line.spec->command) ? definitions_as_text(listed) : listed;
    EmptyListing empty =
        is_streamed_listing(line.spec->command) ? EmptyListing::nothing : EmptyListing::empty_line;
    if (line.formatter == Formatter::json) return {format_json_rows(columns, rows, empty), "", 0};
    // rabbitmqctl 3.10 prints list_user_topic_permissions without its header line.
    bool headers = line.table_headers && line.spec->command != C::list_user_topic_permissions;
    return {format_table(columns, rows, headers ? Headers::show : Headers::omit, empty), "", 0};
}

// list_vhost_limits -p V and list_user_limits --user U print the one object, not a table.
Rendered render_limits(const AdminLine& line, const Json& rows, const std::string& node) {
    bool found = rows.is_array() && !rows.empty() && rows[0].contains("limits");
    std::string limits = found ? table_cell("limits", rows[0]["limits"]) : "";
    if (line.spec->command == C::list_user_limits && !found) limits = "{}";
    if (line.formatter == Formatter::table) return {limits + "\n", "", 0};
    Json object = line.spec->command == C::list_user_limits
                      ? Json{{"message", limits}}
                      : Json{{"node", node}, {"result", "ok"}, {"value", limits}};
    return {object.dump() + "\n", "", 0};
}

// The line a command prints on success after its banner, with its JSON shape.
Rendered render_message(const AdminLine& line, const std::string& message) {
    if (line.formatter == Formatter::json) {
        return {Json{{"message", message}}.dump() + "\n", "", 0};
    }
    return {message + "\n", "", 0};
}

// "Closed N connections"; in JSON rabbitmqctl wraps it as the value of an "ok" result.
Rendered render_closed(const AdminLine& line, u64 closed, const std::string& node) {
    std::string message = "Closed " + std::to_string(closed) + " connections";
    if (line.formatter == Formatter::json) {
        Json object{{"node", node}, {"result", "ok"}, {"value", message}};
        return {object.dump() + "\n", "", 0};
    }
    return {message + "\n", "", 0};
}

u64 count_field(const Json& answer, const char* name) {
    auto found = answer.find(name);
    if (found == answer.end() || !found->is_number_integer()) return 0;
    return found->is_number_unsigned() ? found->get<u64>()
                                       : static_cast<u64>(std::max<i64>(found->get<i64>(), 0));
}

Rendered render_success(const AdminLine& line, const Json& answer, const std::string& node) {
    if (is_listing(line)) return render_listing(line, answer.value("rows", Json::array()));
    switch (line.spec->command) {
        case C::list_vhost_limits:
        case C::list_user_limits:
            return render_limits(line, answer.value("rows", Json::array()), node);
        case C::add_user: {
            std::string done =
                "Done. Don't forget to grant the user permissions to some virtual hosts! See "
                "'lepusctl set_permissions --help' to learn more.";
            if (line.formatter == Formatter::json) {
                Json object{{"message", done}, {"node", node}, {"status", "ok"}};
                return {object.dump() + "\n", "", 0};
            }
            return {line.quiet ? "" : done + "\n", "", 0};
        }
        case C::authenticate_user: return render_message(line, "Success");
        case C::close_all_connections:
            return render_closed(line, count_field(answer, "closed"), node);
        case C::delete_queue:
            return render_message(line, "Queue was successfully deleted with " +
                                            std::to_string(count_field(answer, "messages")) +
                                            " ready messages");
        case C::import_definitions:
            if (line.quiet || line.formatter == Formatter::json) return {};
            return {
                "Successfully started definition import. This process is asynchronous and can "
                "take some time.\n",
                "", 0};
        case C::export_definitions:
        case C::status:
        case C::await_startup: return {};
        default:
            if (line.formatter == Formatter::json) {
                return {Json{{"node", node}, {"result", "ok"}}.dump() + "\n", "", 0};
            }
            return {};
    }
}

// Failures that rabbitmqctl reports as an empty success: listing a vhost that does not exist,
// closing a connection that has already gone.
bool is_empty_success(C command, const std::string& reason) {
    if (reason == "no_such_vhost") {
        return is_streamed_listing(command) || command == C::close_all_connections;
    }
    return reason == "not_found" && command == C::close_connection;
}

}  // namespace

FailureStyle failure_style(AdminCommand command, const std::string& reason) {
    // rabbitmqctl's delete_queue exits 64 on every failure: no queue, not empty, in use.
    if (command == C::delete_queue) return {exit_usage_admin, true};
    if (reason == "no_such_user") {
        switch (command) {
            case C::list_user_permissions:
            case C::list_user_topic_permissions:
            case C::set_user_limits:
            case C::clear_user_limits:
            case C::list_user_limits: return {exit_unavailable, true};
            default: return {exit_no_user, true};
        }
    }
    if (reason == "no_such_vhost") {
        switch (command) {
            case C::set_permissions:
            case C::clear_permissions:
            case C::set_topic_permissions:
            case C::clear_topic_permissions:
            case C::clear_vhost_limits:
            case C::purge_queue: return {exit_unavailable, true};
            default: return {exit_data_error, false};
        }
    }
    if (reason == "already_exists") return {exit_software, true};
    if (reason == "not_found") return {exit_unavailable, true};
    if (reason == "invalid_argument") {
        switch (command) {
            case C::set_permissions:
            case C::set_topic_permissions:
            case C::set_vhost_limits:
            case C::set_user_limits:
            case C::set_policy:
            case C::set_operator_policy: return {exit_unavailable, true};
            default: return {exit_data_error, true};
        }
    }
    if (reason == "refused") {
        return {command == C::authenticate_user ? exit_data_error : exit_unavailable, true};
    }
    return {exit_software, true};
}

Json admin_request(const AdminLine& line) {
    const std::string& first = positional(line, 0);
    switch (line.spec->command) {
        case C::add_user:
        case C::change_password:
        case C::authenticate_user:
            return {
                {"command", line.spec->name}, {"user", first}, {"password", positional(line, 1)}};
        case C::delete_user:
        case C::clear_password:
        case C::list_user_permissions:
        case C::list_user_topic_permissions: return {{"command", line.spec->name}, {"user", first}};
        case C::set_user_tags: {
            Json tags = Json::array();
            for (usize i = 1; i < line.positionals.size(); ++i) tags.push_back(line.positionals[i]);
            return {{"command", line.spec->name}, {"user", first}, {"tags", tags}};
        }
        case C::add_vhost:
        case C::delete_vhost: return {{"command", line.spec->name}, {"vhost", first}};
        case C::set_permissions:
            return {{"command", line.spec->name},   {"user", first},
                    {"vhost", line.vhost},          {"configure", positional(line, 1)},
                    {"write", positional(line, 2)}, {"read", positional(line, 3)}};
        case C::clear_permissions:
            return {{"command", line.spec->name}, {"user", first}, {"vhost", line.vhost}};
        case C::set_topic_permissions:
            return {{"command", line.spec->name},   {"user", first},
                    {"vhost", line.vhost},          {"exchange", positional(line, 1)},
                    {"write", positional(line, 2)}, {"read", positional(line, 3)}};
        case C::clear_topic_permissions: {
            Json request{{"command", line.spec->name}, {"user", first}, {"vhost", line.vhost}};
            if (line.positionals.size() > 1) request["exchange"] = positional(line, 1);
            return request;
        }
        case C::set_vhost_limits:
            return {{"command", line.spec->name}, {"vhost", line.vhost}, {"definition", first}};
        case C::list_vhost_limits:
            if (line.global) return {{"command", line.spec->name}, {"global", true}};
            return {{"command", line.spec->name}, {"vhost", line.vhost}};
        case C::set_user_limits:
            return {
                {"command", line.spec->name}, {"user", first}, {"definition", positional(line, 1)}};
        case C::clear_user_limits:
            return {{"command", line.spec->name}, {"user", first}, {"limit", positional(line, 1)}};
        case C::list_user_limits:
            if (line.global) return {{"command", line.spec->name}, {"global", true}};
            return {{"command", line.spec->name}, {"user", line.user.value_or("guest")}};
        case C::close_connection:
            return {{"command", line.spec->name}, {"name", first}, {"reason", positional(line, 1)}};
        case C::close_all_connections: {
            Json request{{"command", line.spec->name}, {"reason", first}, {"limit", line.limit}};
            if (!line.global) request["vhost"] = line.vhost;
            return request;
        }
        case C::purge_queue:
            return {{"command", line.spec->name}, {"vhost", line.vhost}, {"queue", first}};
        case C::delete_queue:
            return {{"command", line.spec->name},
                    {"vhost", line.vhost},
                    {"queue", first},
                    {"if_empty", line.if_empty},
                    {"if_unused", line.if_unused}};
        case C::list_permissions:
        case C::list_topic_permissions:
        case C::clear_vhost_limits:
        case C::list_queues:
        case C::list_exchanges:
        case C::list_bindings:
        case C::list_consumers: return {{"command", line.spec->name}, {"vhost", line.vhost}};
        case C::await_startup: return {{"command", "ping"}};
        case C::set_policy:
        case C::set_operator_policy:
            return {{"command", line.spec->name},
                    {"vhost", line.vhost},
                    {"name", first},
                    {"pattern", positional(line, 1)},
                    {"definition", positional(line, 2)},
                    {"priority", line.priority},
                    {"apply_to", line.apply_to}};
        case C::clear_policy:
        case C::clear_operator_policy:
            return {{"command", line.spec->name}, {"vhost", line.vhost}, {"name", first}};
        case C::list_policies:
        case C::list_operator_policies:
            return {{"command", line.spec->name}, {"vhost", line.vhost}};
        default: return {{"command", line.spec->name}};
    }
}

std::string admin_banner(const AdminLine& line) {
    if (line.quiet || line.formatter == Formatter::json) return "";
    const std::string& first = positional(line, 0);
    const std::string vhost = quoted(line.vhost);
    switch (line.spec->command) {
        case C::add_user: return "Adding user " + quoted(first) + " ...\n";
        case C::delete_user: return "Deleting user " + quoted(first) + " ...\n";
        case C::change_password: return "Changing password for user " + quoted(first) + " ...\n";
        case C::clear_password: return "Clearing password for user " + quoted(first) + " ...\n";
        case C::authenticate_user: return "Authenticating user " + quoted(first) + " ...\n";
        case C::set_user_tags: {
            std::string tags;
            for (usize i = 1; i < line.positionals.size(); ++i) {
                tags += (i > 1 ? ", " : "") + line.positionals[i];
            }
            return "Setting tags for user " + quoted(first) + " to [" + tags + "] ...\n";
        }
        case C::list_users: return "Listing users ...\n";
        case C::add_vhost: return "Adding vhost " + quoted(first) + " ...\n";
        case C::delete_vhost: return "Deleting vhost " + quoted(first) + " ...\n";
        case C::list_vhosts: return "Listing vhosts ...\n";
        case C::set_permissions:
            return "Setting permissions for user " + quoted(first) + " in vhost " + vhost +
                   " ...\n";
        case C::clear_permissions:
            return "Clearing permissions for user " + quoted(first) + " in vhost " + vhost +
                   " ...\n";
        case C::list_permissions: return "Listing permissions for vhost " + vhost + " ...\n";
        case C::list_user_permissions:
            return "Listing permissions for user " + quoted(first) + " ...\n";
        case C::set_topic_permissions:
            return "Setting topic permissions on " + quoted(positional(line, 1)) + " for user " +
                   quoted(first) + " in vhost " + vhost + " ...\n";
        case C::clear_topic_permissions:
            if (line.positionals.size() > 1) {
                return "Clearing topic permissions on " + quoted(positional(line, 1)) +
                       " for user " + quoted(first) + " in vhost " + vhost + " ...\n";
            }
            return "Clearing topic permissions for user " + quoted(first) + " in vhost " + vhost +
                   " ...\n";
        case C::list_topic_permissions:
            return "Listing topic permissions for vhost " + vhost + " ...\n";
        case C::list_user_topic_permissions:
            return "Listing topic permissions for user " + quoted(first) + " ...\n";
        case C::set_vhost_limits:
            return "Setting vhost limits to " + quoted(first) + " for vhost " + vhost + " ...\n";
        case C::clear_vhost_limits: return "Clearing vhost " + vhost + " limits ...\n";
        case C::list_vhost_limits:
            if (line.global) return "Listing limits for all vhosts ...\n";
            return "Listing limits for vhost " + vhost + " ...\n";
        case C::set_user_limits:
            return "Setting user limits to " + quoted(positional(line, 1)) + " for user " +
                   quoted(first) + " ...\n";
        case C::clear_user_limits:
            if (positional(line, 1) == "all") {
                return "Clearing all limits for user " + quoted(first) + " ...\n";
            }
            return "Clearing " + quoted(positional(line, 1)) + " limit for user " + quoted(first) +
                   " ...\n";
        case C::list_user_limits:
            if (line.global) return "Listing limits for all users ...\n";
            return "Listing limits for user " + quoted(line.user.value_or("guest")) + " ...\n";
        case C::list_queues:
            return "Timeout: " + std::to_string(line.timeout_s) +
                   ".0 seconds ...\nListing queues for vhost " + line.vhost + " ...\n";
        case C::list_exchanges: return "Listing exchanges for vhost " + line.vhost + " ...\n";
        case C::list_bindings: return "Listing bindings for vhost " + line.vhost + "...\n";
        case C::list_connections: return "Listing connections ...\n";
        case C::list_channels: return "Listing channels ...\n";
        case C::list_consumers: return "Listing consumers in vhost " + line.vhost + " ...\n";
        case C::close_connection:
            return "Closing connection " + first + ", reason: " + positional(line, 1) + "...\n";
        case C::close_all_connections:
            if (line.global) {
                return "Closing all connections to node {node} (across all vhosts), reason: " +
                       first + "...\n";
            }
            return "Closing " + (line.limit > 0 ? std::to_string(line.limit) : std::string("all")) +
                   " connections in vhost " + line.vhost + ", reason: " + first + "...\n";
        case C::purge_queue:
            return "Purging queue '" + first + "' in vhost '" + line.vhost + "' ...\n";
        case C::delete_queue: {
            std::string text = "Deleting queue '" + first + "' on vhost '" + line.vhost + "'";
            if (line.if_empty) text += " if queue is empty";
            if (line.if_empty && line.if_unused) text += " and";
            if (line.if_unused) text += " if queue is unused";
            return text + " ...\n";
        }
        case C::export_definitions:
            if (first == "-") return "";
            return "Exporting definitions in JSON to a file at " + quoted(first) + " ...\n";
        case C::import_definitions:
            if (line.positionals.empty() || first == "-") {
                return "Importing definitions in JSON from standard input ...\n";
            }
            return "Importing definitions in JSON from a file at " + quoted(first) + " ...\n";
        case C::status: return "Status of node {node} ...\n";
        case C::await_startup: return "";
        case C::set_policy:
        case C::set_operator_policy:
            return std::string(line.spec->command == C::set_policy
                                   ? "Setting policy "
                                   : "Setting operator policy override ") +
                   quoted(first) + " for pattern " + quoted(positional(line, 1)) + " to " +
                   quoted(positional(line, 2)) + " with priority " +
                   quoted(std::to_string(line.priority)) + " for vhost " + vhost + " ...\n";
        case C::clear_policy:
            return "Clearing policy " + quoted(first) + " on vhost " + vhost + " ...\n";
        case C::clear_operator_policy:
            return "Clearing operator policy " + quoted(first) + " on vhost " + vhost + " ...\n";
        case C::list_policies: return "Listing policies for vhost " + vhost + " ...\n";
        case C::list_operator_policies:
            return "Listing operator policy overrides for vhost " + vhost + " ...\n";
        default: return "";  // diagnostics print their own (admin_diagnostics.h)
    }
    return "";
}

Rendered render_answer(const AdminLine& line, const Json& answer, const std::string& node) {
    C command = line.spec->command;
    if (answer.value("ok", false)) return render_success(line, answer, node);
    std::string reason = answer.value("reason", std::string("failed"));
    std::string error = answer.value("error", std::string());
    if (is_empty_success(command, reason)) {
        if (command == C::close_all_connections) return render_closed(line, 0, node);
        return render_success(line, Json{{"ok", true}, {"rows", Json::array()}}, node);
    }
    if (command == C::authenticate_user && reason == "refused" && error.rfind("Error: ", 0) != 0) {
        error = "Error: failed to authenticate user " + quoted(positional(line, 0)) + "\n" + error;
    }
    FailureStyle style = failure_style(command, reason);
    // The failures rabbitmqctl prints without "Error:" it prints as text in JSON mode too, and
    // its policy commands print every failure as text.
    if (line.formatter == Formatter::json && style.error_prefix && !is_policy_command(command)) {
        Json object{{"message", error}, {"node", node}, {"result", "error"}};
        return {"", object.dump() + "\n", style.exit_code};
    }
    return {"", (style.error_prefix ? "Error:\n" : "") + error + "\n", style.exit_code};
}

}  // namespace lepus::ctl
