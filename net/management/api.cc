// Authentication, routing and the replies every handler shares.
#include "net/management/api.h"

#include <algorithm>

#include "core/access/base64.h"
#include "core/access/user_table.h"
#include "core/base/log.h"
#include "core/json/field_table_json.h"
#include "net/admin/rows.h"
#include "net/management/api_query.h"

namespace lepus::management {

using nlohmann::json;

void reply_json(const HttpReply& reply, u16 status, const json& body) {
    HttpResponse response;
    response.status = status;
    response.body = lepus::json::dump_json(body);
    reply(std::move(response));
}

void reply_error(const HttpReply& reply, u16 status, const std::string& error,
                 const std::string& reason) {
    reply_json(reply, status, json{{"error", error}, {"reason", reason}});
}

void reply_not_found(const HttpReply& reply) {
    reply_error(reply, 404, "Object Not Found", "Not Found");
}

void reply_no_content(const HttpReply& reply, u16 status) {
    HttpResponse response;
    response.status = status;
    reply(std::move(response));
}

namespace {

// "Basic base64(user:password)" -> user and password.
bool basic_credentials(const std::string& header, std::string& user, std::string& password) {
    constexpr std::string_view scheme = "Basic ";
    if (header.size() <= scheme.size() ||
        !std::equal(scheme.begin(), scheme.end(), header.begin(),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        return false;
    }
    std::optional<std::vector<u8>> decoded =
        access::base64_decode(std::string_view(header).substr(scheme.size()));
    if (!decoded) return false;
    std::string text(decoded->begin(), decoded->end());
    usize colon = text.find(':');
    if (colon == std::string::npos) return false;
    user = text.substr(0, colon);
    password = text.substr(colon + 1);
    return true;
}

void unauthorised(const HttpReply& reply, const std::string& error, const std::string& reason,
                  bool challenge) {
    HttpResponse response;
    response.status = 401;
    response.body = lepus::json::dump_json(json{{"error", error}, {"reason", reason}});
    if (challenge) {
        response.headers.emplace_back("www-authenticate", "Basic realm=\"RabbitMQ Management\"");
    }
    reply(std::move(response));
}

// The reply text of an AMQP refusal without its code's name: "PRECONDITION_FAILED - x" -> x.
std::string without_code_name(const std::string& text) {
    usize dash = text.find(" - ");
    if (dash == std::string::npos) return text;
    std::string_view name = std::string_view(text).substr(0, dash);
    bool is_code_name = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || c == '_';
    });
    return is_code_name ? text.substr(dash + 3) : text;
}

}  // namespace

bool Api::Call::has_tag(std::string_view tag) const {
    return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

Api::Api(admin::Endpoint& endpoint, const core::Catalog& catalog, std::function<json()> status)
    : endpoint_(endpoint), catalog_(catalog), status_(std::move(status)) {}

void Api::handle(HttpRequest& request, HttpReply reply) {
    const bool first = last_request_ms_ == 0;
    last_request_ms_ = std::max<u64>(now_ms_, 1);
    if (first && !sampling_) sample();  // rates from the second sample on
    Call call;
    call.reply = std::move(reply);
    if (!split_target(request.target, call.path, call.query)) {
        reply_not_found(call.reply);
        return;
    }
    std::string password;
    const std::string& authorization = request.header("authorization");
    if (authorization.empty()) {
        HttpResponse response;
        response.status = 401;
        response.headers.emplace_back("www-authenticate", "Basic realm=\"RabbitMQ Management\"");
        call.reply(std::move(response));
        return;
    }
    if (!basic_credentials(authorization, call.user, password) ||
        catalog_.users().authenticate(call.user, password) != access::LoginOutcome::ok) {
        LEPUS_LOG(warning, "management API: login refused for user '%s' from %s", call.user.c_str(),
                  request.peer.c_str());
        unauthorised(call.reply, "not_authorized", "Login failed", true);
        return;
    }
    const access::User* user = catalog_.users().find(call.user);
    call.tags = user->tags;
    if (!call.has_tag("management") && !call.has_tag("policymaker") &&
        !call.has_tag("monitoring") && !call.is_administrator()) {
        unauthorised(call.reply, "not_authorised", "Not management user", false);
        return;
    }
    call.request = std::move(request);
    guarded(call.reply, [&] { route(call); });
}

void Api::guarded(const HttpReply& reply, const std::function<void()>& work) {
    // A body field of the wrong type surfaces as an exception of the JSON library, or as
    // BadRequest; either is the client's mistake, answered as RabbitMQ answers it.
    try {
        work();
    } catch (const BadRequest& e) {
        reply_error(reply, 400, "bad_request", e.what());
    } catch (const nlohmann::json::exception& e) {
        reply_error(reply, 400, "bad_request", e.what());
    } catch (const std::exception& e) {
        // A number out of range and the like: the request's fault too, and never the broker's
        // end.
        reply_error(reply, 400, "bad_request", e.what());
    }
}

void Api::route(Call& call) {
    const auto& path = call.path;
    const std::string& method = call.request.method;
    if (method == "OPTIONS") {
        reply_no_content(call.reply, 200);
        return;
    }
    if (path.empty()) {
        reply_not_found(call.reply);
        return;
    }
    const std::string& head = path[0];
    if (head == "overview") {
        overview(call);
    } else if (head == "cluster-name") {
        reply_json(call.reply, 200, json{{"name", admin::node_name()}});
    } else if (head == "nodes") {
        nodes(call);
    } else if (head == "whoami") {
        reply_json(call.reply, 200, json{{"name", call.user}, {"tags", call.tags}});
    } else if (head == "extensions") {
        reply_json(call.reply, 200, json::array());
    } else if (head == "vhosts") {
        vhosts(call);
    } else if (head == "users") {
        users(call);
    } else if (head == "permissions") {
        permissions(call, false);
    } else if (head == "topic-permissions") {
        permissions(call, true);
    } else if (head == "policies" || head == "operator-policies") {
        policies(call, head == "operator-policies");
    } else if (head == "parameters" || head == "global-parameters") {
        parameters(call, head == "global-parameters");
    } else if (head == "vhost-limits") {
        limits(call, false);
    } else if (head == "user-limits") {
        limits(call, true);
    } else if (head == "queues") {
        queues(call);
    } else if (head == "exchanges") {
        exchanges(call);
    } else if (head == "bindings") {
        bindings(call);
    } else if (head == "consumers") {
        consumers(call);
    } else if (head == "connections") {
        connections(call);
    } else if (head == "channels") {
        channels(call);
    } else if (head == "health" || head == "aliveness-test") {
        health(call);
    } else if (head == "definitions" || head == "all-configuration") {
        definitions(call);
    } else {
        reply_not_found(call.reply);
    }
}

void Api::submit(Call& call, json request, Then then) {
    HttpReply reply = call.reply;
    endpoint_.submit(request, [reply, then = std::move(then)](const json& answer) {
        if (answer.value("ok", false)) {
            guarded(reply, [&] { then(answer); });
            return;
        }
        const std::string reason = answer.value("reason", std::string());
        const std::string text = answer.value("error", std::string());
        const u16 code = answer.value("code", u16{0});
        if (reason == "not_found" || reason == "no_such_user") {
            reply_not_found(reply);
        } else if (reason == "no_such_vhost") {
            reply_error(reply, 404, "not_found", "vhost_not_found");
        } else if (code == 403) {
            unauthorised(reply, "not_authorised", "Access refused.", false);
        } else if (reason == "failed" && code == 0) {
            reply_error(reply, 500, "internal_server_error", text);
        } else {
            reply_error(reply, 400, "bad_request", without_code_name(text));
        }
    });
}

void Api::change(Call& call, json request, u16 status) {
    HttpReply reply = call.reply;
    submit(call, std::move(request),
           [reply, status](const json&) { reply_no_content(reply, status); });
}

void Api::reply_list(Call& call, json items) {
    ListResult result = shape_list(std::move(items), call.query);
    if (result.status != 200) {
        reply_error(call.reply, result.status, "bad_request", result.error);
        return;
    }
    reply_json(call.reply, 200, result.body);
}

bool Api::vhost_exists(const std::string& vhost) const {
    const core::VHost* entry = catalog_.find_vhost(vhost);
    return entry != nullptr && !entry->deleted;
}

bool Api::may_see_vhost(const Call& call, const std::string& vhost) const {
    return call.sees_everything() || catalog_.permissions().find(call.user, vhost) != nullptr;
}

bool Api::vhost_in_path(Call& call, usize index, std::string& vhost) {
    vhost = call.path[index];
    if (!vhost_exists(vhost)) {
        if (call.request.method == "GET") {
            reply_not_found(call.reply);
        } else {
            reply_error(call.reply, 404, "not_found", "vhost_not_found");
        }
        return false;
    }
    // Changes need the user's own permissions there, whatever its tags (as in RabbitMQ).
    const bool reads = call.request.method == "GET";
    if ((reads && !may_see_vhost(call, vhost)) ||
        (!reads && !call.is_administrator() &&
         catalog_.permissions().find(call.user, vhost) == nullptr)) {
        unauthorised(call.reply, "not_authorised", "User not authorised to access virtual host",
                     false);
        return false;
    }
    return true;
}

bool Api::require_administrator(Call& call) {
    if (call.is_administrator()) return true;
    unauthorised(call.reply, "not_authorised", "Not administrator user", false);
    return false;
}

bool Api::body_object(Call& call, json& out) {
    if (call.request.body.empty()) {
        out = json::object();
        return true;
    }
    out = json::parse(call.request.body, nullptr, false);
    if (out.is_discarded() || !out.is_object()) {
        reply_error(call.reply, 400, "bad_request", "not_json");
        return false;
    }
    return true;
}

}  // namespace lepus::management
