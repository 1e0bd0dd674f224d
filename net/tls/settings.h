#pragma once
// The TLS settings of lepusd's TLS listeners, as rabbitmq.conf's ssl_options name them. Plain
// data: net/server parses them, Context (context.h) loads and checks them at start-up.
#include <string>
#include <vector>

#include "core/base/types.h"

namespace lepus::tls {

enum class Verify : u8 {
    none,  // verify_none: no client certificate is asked for
    peer,  // verify_peer: a client certificate is asked for and, if sent, must verify
};

// The protocol versions a listener may speak: TLS 1.2 and 1.3 only.
enum Version : u8 {
    version_tls12 = 1,
    version_tls13 = 2,
};
inline constexpr u8 versions_all = version_tls12 | version_tls13;

struct Settings {
    std::string cacertfile;  // CA bundle: which client certificates verify (and the chain)
    std::string certfile;    // the server's certificate chain, PEM
    std::string keyfile;     // its private key, PEM
    std::string password;    // the key's pass phrase; empty when it has none
    Verify verify = Verify::none;
    // With verify_peer: a client that sends no certificate is refused.
    bool fail_if_no_peer_cert = false;
    u8 versions = versions_all;  // Version bits
    // OpenSSL cipher names: TLS 1.3 suites (TLS_AES_128_GCM_SHA256) and TLS 1.2 ciphers
    // (ECDHE-RSA-AES128-GCM-SHA256) alike. Empty: OpenSSL's defaults.
    std::vector<std::string> ciphers;
};

}  // namespace lepus::tls
