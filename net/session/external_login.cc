// The SASL mechanisms a session accepts, and EXTERNAL (as RabbitMQ's
// rabbitmq_auth_mechanism_ssl): the user is the subject CN of the client certificate the TLS
// handshake verified, and no password is asked; the user must exist in the shard's replica of
// the users.
#include <algorithm>
#include <string>

#include "core/base/log.h"
#include "net/session/session.h"

namespace lepus::session {

bool Session::mechanism_enabled(std::string_view mechanism) const {
    std::string_view offered = services_.settings.auth_mechanisms;
    while (!offered.empty()) {
        usize space = offered.find(' ');
        if (offered.substr(0, space) == mechanism) return true;
        if (space == std::string_view::npos) break;
        offered.remove_prefix(space + 1);
    }
    return false;
}

bool Session::authenticate_external() {
    if (certificate_user_.empty()) {
        LEPUS_LOG(warning,
                  "%s: EXTERNAL login needs a TLS connection with a verified client "
                  "certificate",
                  facts_.peer_name.c_str());
        return false;
    }
    facts_.user = certificate_user_;
    // As RabbitMQ's internal backend with no password: the user must exist; then the loopback
    // rule, as for any login.
    if (services_.broker.catalog().users().find(facts_.user) == nullptr) {
        login_refusal_ = "user '" + facts_.user + "' - invalid credentials";
        return false;
    }
    const std::vector<std::string>& loopback = services_.settings.loopback_users;
    if (!peer_is_loopback_ &&
        std::find(loopback.begin(), loopback.end(), facts_.user) != loopback.end()) {
        login_refusal_ = "user '" + facts_.user + "' can only connect via localhost";
        return false;
    }
    return true;
}

}  // namespace lepus::session
