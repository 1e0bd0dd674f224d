// The SASL mechanisms a session accepts, and EXTERNAL (as RabbitMQ's
// rabbitmq_auth_mechanism_ssl): the user is the subject CN of the client certificate the TLS
// handshake verified, and no password is asked. Kept apart from handshake.cc so the user model
// behind it can change without touching the certificate side.
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
    const Settings& settings = services_.settings;
    if (facts_.user != settings.default_user) return false;  // no such user
    if (settings.loopback_users_only && !peer_is_loopback_) {
        LEPUS_LOG(warning, "user '%s' may only connect from loopback; %s refused",
                  facts_.user.c_str(), facts_.peer_name.c_str());
        return false;
    }
    return true;
}

}  // namespace lepus::session
