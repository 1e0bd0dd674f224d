#pragma once
// An OpenSSL SSL_CTX with lepusd's certificates, key, CA bundle, verification, versions and
// ciphers loaded and checked. The server makes one per shard at start-up (a shard shares
// nothing, not even OpenSSL's locks on a context), on the main thread, before any shard runs:
// a file that is missing, unreadable or does not match stops start-up with a message naming
// the setting and the file. Owns the SSL_CTX; each Stream made from it holds a reference.
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "net/tls/settings.h"

namespace lepus::tls {

class Context {
public:
    // The server side of a TLS listener; nullptr and `error` when a setting cannot be used.
    static std::unique_ptr<Context> server(const Settings& settings, std::string& error);
    // A client, for tests and tools: trusts `cacertfile` (empty: verifies nothing) and
    // presents `certfile` with `keyfile` when they are given.
    static std::unique_ptr<Context> client(const std::string& cacertfile,
                                           const std::string& certfile, const std::string& keyfile,
                                           std::string& error);
    ~Context();
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    SSL_CTX* raw() const { return context_; }
    bool is_server() const { return server_; }

private:
    Context(SSL_CTX* context, bool server) : context_(context), server_(server) {}

    SSL_CTX* context_;
    bool server_;
};

// OpenSSL's queued errors of this thread as one line (and the queue emptied); `fallback` when
// there are none.
std::string take_openssl_errors(const char* fallback);

}  // namespace lepus::tls
