#include "core/access/user_table.h"

#include <algorithm>

#include "core/access/base64.h"
#include "core/access/password_hash.h"
#include "core/base/assert.h"

namespace lepus::access {

bool User::has_tag(std::string_view tag) const {
    return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

std::string format_tags(const std::vector<std::string>& tags) {
    std::string text = "[";
    for (usize i = 0; i < tags.size(); ++i) {
        if (i > 0) text += ", ";
        text += tags[i];
    }
    text += "]";
    return text;
}

// rabbitmqctl 3.10's words, checked against it: add_user of an existing name, and
// delete_user, change_password, set_user_tags of a missing one.
std::string describe(UserOutcome outcome, std::string_view user) {
    const std::string quoted = "\"" + std::string(user) + "\"";
    switch (outcome) {
        case UserOutcome::ok: return {};
        case UserOutcome::already_exists: return "User " + quoted + " already exists";
        case UserOutcome::no_such_user: return "User " + quoted + " does not exist";
        case UserOutcome::invalid_hash:
            return "password hash of user " + quoted + " is not base64 of a 36-byte " +
                   std::string(password_hashing_algorithm) + " hash";
    }
    LEPUS_UNREACHABLE();
}

// rabbit_auth_backend_internal:user_login_authentication/2 and internal_check_user_login/2.
std::string describe(LoginOutcome outcome, std::string_view user) {
    const std::string name(user);
    switch (outcome) {
        case LoginOutcome::ok: return {};
        case LoginOutcome::blank_password:
            return "user '" + name +
                   "' attempted to log in with a blank password, which is prohibited by the "
                   "internal authN backend. To use TLS/x509 certificate-based authentication, "
                   "see the rabbitmq_auth_mechanism_ssl plugin and configure the client to use "
                   "the EXTERNAL authentication mechanism. Alternatively change the password "
                   "for the user to be non-blank.";
        case LoginOutcome::invalid_credentials: return "user '" + name + "' - invalid credentials";
    }
    LEPUS_UNREACHABLE();
}

UserOutcome UserTable::add(std::string_view name, std::string_view password) {
    if (users_.contains(name)) return UserOutcome::already_exists;
    users_.emplace(std::string(name), User{std::string(name), hash_password(password), {}});
    return UserOutcome::ok;
}

UserOutcome UserTable::add_with_hash(std::string_view name, std::string_view password_hash_base64,
                                     std::vector<std::string> tags) {
    if (users_.contains(name)) return UserOutcome::already_exists;
    std::optional<std::vector<u8>> hash = base64_decode(password_hash_base64);
    if (!hash || (!hash->empty() && hash->size() != password_hash_size)) {
        return UserOutcome::invalid_hash;
    }
    users_.emplace(std::string(name), User{std::string(name), std::move(*hash), std::move(tags)});
    return UserOutcome::ok;
}

UserOutcome UserTable::remove(std::string_view name) {
    auto it = users_.find(name);
    if (it == users_.end()) return UserOutcome::no_such_user;
    users_.erase(it);
    return UserOutcome::ok;
}

UserOutcome UserTable::change_password(std::string_view name, std::string_view password) {
    User* user = find_mutable(name);
    if (user == nullptr) return UserOutcome::no_such_user;
    user->password_hash = hash_password(password);
    return UserOutcome::ok;
}

UserOutcome UserTable::clear_password(std::string_view name) {
    User* user = find_mutable(name);
    if (user == nullptr) return UserOutcome::no_such_user;
    user->password_hash.clear();
    return UserOutcome::ok;
}

UserOutcome UserTable::set_tags(std::string_view name, std::vector<std::string> tags) {
    User* user = find_mutable(name);
    if (user == nullptr) return UserOutcome::no_such_user;
    user->tags = std::move(tags);
    return UserOutcome::ok;
}

void UserTable::put(User user) {
    std::string name = user.name;
    users_.insert_or_assign(std::move(name), std::move(user));
}

LoginOutcome UserTable::authenticate(std::string_view name, std::string_view password) const {
    if (password.empty()) return LoginOutcome::blank_password;
    const User* user = find(name);
    if (user == nullptr || !password_matches(user->password_hash, password)) {
        return LoginOutcome::invalid_credentials;
    }
    return LoginOutcome::ok;
}

const User* UserTable::find(std::string_view name) const {
    auto it = users_.find(name);
    return it == users_.end() ? nullptr : &it->second;
}

User* UserTable::find_mutable(std::string_view name) {
    auto it = users_.find(name);
    return it == users_.end() ? nullptr : &it->second;
}

std::vector<const User*> UserTable::list() const {
    std::vector<const User*> users;
    users.reserve(users_.size());
    for (const auto& [name, user] : users_) users.push_back(&user);
    return users;
}

// The text is RabbitMQ 3.10's, as a running 3.10 sent it to pika.
std::optional<Refusal> check_user_id(const User& user, std::string_view claimed_user_id) {
    if (claimed_user_id == user.name || user.has_tag(tag_impersonator)) return std::nullopt;
    return Refusal{reply_precondition_failed, "PRECONDITION_FAILED - user_id property set to '" +
                                                  std::string(claimed_user_id) +
                                                  "' but authenticated user was '" + user.name +
                                                  "'"};
}

std::string password_hash_base64(const User& user) { return base64_encode(user.password_hash); }

}  // namespace lepus::access
