#pragma once
// The users of the internal authentication backend, as RabbitMQ's rabbit_auth_backend_internal
// keeps them: a name, a password hash (or none), and tags. The table decides logins and the
// user operations of rabbitmqctl (add_user, delete_user, change_password, clear_password,
// set_user_tags, authenticate_user), with rabbitmqctl's words for each refusal.
//
// Ownership: plain values, no shard of its own; whoever holds the access state owns the table.
// Permissions and limits live beside it (PermissionTable, AccessLimits); deleting a user here
// does not clear them, the holder of all three does (as RabbitMQ's delete_user does in one
// transaction).
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/access/refusal.h"
#include "core/base/types.h"

namespace lepus::access {

// The tags RabbitMQ gives meaning to. Any other tag is kept as given and means nothing to the
// broker (the management UI shows it).
inline constexpr std::string_view tag_administrator = "administrator";
inline constexpr std::string_view tag_monitoring = "monitoring";
inline constexpr std::string_view tag_management = "management";
inline constexpr std::string_view tag_policymaker = "policymaker";
inline constexpr std::string_view tag_impersonator = "impersonator";

struct User {
    std::string name;
    // salt ‖ SHA-256(salt ‖ password) (password_hash.h), or empty after clear_password: then no
    // password logs in, as in RabbitMQ, where the stored hash is <<>>.
    std::vector<u8> password_hash;
    // In the order given to set_user_tags, duplicates included: RabbitMQ stores and lists them
    // so (`[monitoring, foo, administrator]`).
    std::vector<std::string> tags;

    bool has_tag(std::string_view tag) const;
};

// rabbitmqctl's list_users column: "[administrator, monitoring]", "[]" for none.
std::string format_tags(const std::vector<std::string>& tags);

enum class UserOutcome : u8 { ok, already_exists, no_such_user, invalid_hash };

// rabbitmqctl's error line for an outcome, e.g. `User "x" already exists`; empty for ok.
std::string describe(UserOutcome outcome, std::string_view user);

enum class LoginOutcome : u8 { ok, blank_password, invalid_credentials };

// The reason RabbitMQ's internal backend gives for a refused login (logged by the broker,
// printed by `rabbitmqctl authenticate_user`), e.g. "user 'x' - invalid credentials".
std::string describe(LoginOutcome outcome, std::string_view user);

class UserTable {
public:
    // A new user with a freshly salted hash of `password` and no tags. RabbitMQ accepts an
    // empty password here; such a user still cannot log in with it (authenticate refuses blank
    // passwords before looking the user up).
    UserOutcome add(std::string_view name, std::string_view password);
    // A user from definitions: the hash as RabbitMQ exports it (base64 of 36 bytes, or "" for
    // none). Anything else is invalid_hash and adds nothing.
    UserOutcome add_with_hash(std::string_view name, std::string_view password_hash_base64,
                              std::vector<std::string> tags);
    UserOutcome remove(std::string_view name);
    UserOutcome change_password(std::string_view name, std::string_view password);
    UserOutcome clear_password(std::string_view name);
    UserOutcome set_tags(std::string_view name, std::vector<std::string> tags);
    // Adds the user or replaces the one of that name, as decided elsewhere: how a replica
    // applies what the metadata shard decided (the hash is the decider's, salt and all).
    void put(User user);

    // The PLAIN login: RabbitMQ checks for a blank password first, then the user and the hash.
    // A missing user and a wrong password are refused alike, so a login says nothing about
    // which names exist.
    LoginOutcome authenticate(std::string_view name, std::string_view password) const;

    const User* find(std::string_view name) const;
    // Every user, ordered by name (RabbitMQ lists them in its table's order, which is no order).
    std::vector<const User*> list() const;
    usize size() const { return users_.size(); }

private:
    User* find_mutable(std::string_view name);

    std::map<std::string, User, std::less<>> users_;
};

// A publish whose user_id property names someone other than the connection's user: 406
// PRECONDITION_FAILED, unless the user has the impersonator tag (rabbit_channel's
// check_user_id_header). A publish without the property is not checked.
std::optional<Refusal> check_user_id(const User& user, std::string_view claimed_user_id);

// The stored hash as definitions carry it: base64, "" when the password was cleared.
std::string password_hash_base64(const User& user);

}  // namespace lepus::access
