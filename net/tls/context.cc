#include "net/tls/context.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lepus::tls {

namespace {

std::string quoted(const std::string& text) { return "'" + text + "'"; }

// Says which setting names a file that cannot be read, in the words of the file system,
// before OpenSSL's less direct messages would.
bool readable(const char* key, const std::string& path, std::string& error) {
    if (::access(path.c_str(), R_OK) == 0) return true;
    error = std::string(key) + ": cannot read " + quoted(path) + ": " + std::strerror(errno);
    return false;
}

int give_password(char* buffer, int size, int, void* user_data) {
    const auto* password = static_cast<const std::string*>(user_data);
    int length = static_cast<int>(password->size());
    if (length > size) return -1;
    std::memcpy(buffer, password->data(), static_cast<usize>(length));
    return length;
}

bool load_chain_and_key(SSL_CTX* context, const Settings& settings, std::string& error) {
    if (!readable("ssl_options.certfile", settings.certfile, error) ||
        !readable("ssl_options.keyfile", settings.keyfile, error))
        return false;
    if (SSL_CTX_use_certificate_chain_file(context, settings.certfile.c_str()) != 1) {
        error = "ssl_options.certfile: " + quoted(settings.certfile) +
                " holds no usable PEM certificate: " + take_openssl_errors("unknown error");
        return false;
    }
    // The callback's user data is read only during the call below.
    std::string password = settings.password;
    SSL_CTX_set_default_passwd_cb(context, give_password);
    SSL_CTX_set_default_passwd_cb_userdata(context, &password);
    int loaded = SSL_CTX_use_PrivateKey_file(context, settings.keyfile.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_set_default_passwd_cb(context, nullptr);
    SSL_CTX_set_default_passwd_cb_userdata(context, nullptr);
    unsigned long reason = ERR_peek_last_error();
    if (loaded != 1 && ERR_GET_LIB(reason) == ERR_LIB_X509 &&
        ERR_GET_REASON(reason) == X509_R_KEY_VALUES_MISMATCH) {
        ERR_clear_error();
        loaded = 0;
        error = "ssl_options.keyfile: the key in " + quoted(settings.keyfile) +
                " does not match the certificate in ssl_options.certfile " +
                quoted(settings.certfile);
        return false;
    }
    if (loaded != 1) {
        error = "ssl_options.keyfile: " + quoted(settings.keyfile) +
                " holds no usable PEM private key" +
                (settings.password.empty() ? "" : " for ssl_options.password") + ": " +
                take_openssl_errors("unknown error");
        return false;
    }
    if (SSL_CTX_check_private_key(context) != 1) {
        error = "ssl_options.keyfile: the key in " + quoted(settings.keyfile) +
                " does not match the certificate in ssl_options.certfile " +
                quoted(settings.certfile);
        ERR_clear_error();
        return false;
    }
    return true;
}

bool load_ca(SSL_CTX* context, const Settings& settings, std::string& error) {
    if (settings.cacertfile.empty()) return true;
    if (!readable("ssl_options.cacertfile", settings.cacertfile, error)) return false;
    if (SSL_CTX_load_verify_locations(context, settings.cacertfile.c_str(), nullptr) != 1) {
        error = "ssl_options.cacertfile: " + quoted(settings.cacertfile) +
                " holds no usable PEM certificate: " + take_openssl_errors("unknown error");
        return false;
    }
    // The CA names go into the CertificateRequest, so that clients pick a matching certificate.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings.cacertfile.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(context, names);
    ERR_clear_error();
    return true;
}

bool set_versions(SSL_CTX* context, u8 versions, std::string& error) {
    if ((versions & versions_all) == 0) {
        error = "ssl_options.versions: no version left (tlsv1.2 and tlsv1.3 are supported)";
        return false;
    }
    int low = (versions & version_tls12) ? TLS1_2_VERSION : TLS1_3_VERSION;
    int high = (versions & version_tls13) ? TLS1_3_VERSION : TLS1_2_VERSION;
    SSL_CTX_set_min_proto_version(context, low);
    SSL_CTX_set_max_proto_version(context, high);
    return true;
}

// TLS 1.3 suites and TLS 1.2 ciphers are configured apart in OpenSSL; each name given is
// checked on its own, so that a typo is named rather than silently dropped from a list.
bool set_ciphers(SSL_CTX* context, const std::vector<std::string>& ciphers, std::string& error) {
    if (ciphers.empty()) return true;
    std::string suites;  // TLS 1.3
    std::string list;    // TLS 1.2
    for (const std::string& name : ciphers) {
        bool tls13 = name.starts_with("TLS_");
        int ok = tls13 ? SSL_CTX_set_ciphersuites(context, name.c_str())
                       : SSL_CTX_set_cipher_list(context, name.c_str());
        if (ok != 1) {
            error = "ssl_options.ciphers: OpenSSL knows no cipher " + quoted(name);
            ERR_clear_error();
            return false;
        }
        std::string& into = tls13 ? suites : list;
        if (!into.empty()) into += ':';
        into += name;
    }
    // Only the kinds listed are limited: a list of TLS 1.2 ciphers leaves TLS 1.3's defaults.
    if (!suites.empty() && SSL_CTX_set_ciphersuites(context, suites.c_str()) != 1) return false;
    if (list.empty()) {
        SSL_CTX_set_cipher_list(context, OSSL_default_cipher_list());
    } else if (SSL_CTX_set_cipher_list(context, list.c_str()) != 1) {
        return false;
    }
    if (suites.empty()) SSL_CTX_set_ciphersuites(context, OSSL_default_ciphersuites());
    return true;
}

}  // namespace

std::string take_openssl_errors(const char* fallback) {
    std::string text;
    while (unsigned long code = ERR_get_error()) {
        char line[256];
        ERR_error_string_n(code, line, sizeof line);
        if (!text.empty()) text += "; ";
        text += line;
    }
    return text.empty() ? std::string(fallback) : text;
}

std::unique_ptr<Context> Context::server(const Settings& settings, std::string& error) {
    ERR_clear_error();
    SSL_CTX* context = SSL_CTX_new(TLS_server_method());
    if (context == nullptr) {
        error = "cannot create a TLS context: " + take_openssl_errors("out of memory");
        return nullptr;
    }
    std::unique_ptr<Context> result(new Context(context, true));
    if (!load_chain_and_key(context, settings, error) || !load_ca(context, settings, error) ||
        !set_versions(context, settings.versions, error) ||
        !set_ciphers(context, settings.ciphers, error))
        return nullptr;
    if (settings.verify == Verify::peer) {
        int mode = SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE;
        if (settings.fail_if_no_peer_cert) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(context, mode, nullptr);
    } else {
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
    }
    // Records are written into memory and sent whole by the connection: no partial writes.
    SSL_CTX_set_mode(context, SSL_MODE_RELEASE_BUFFERS);
    // No renegotiation: a client could use it to make the server work without end.
    SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Sessions resume through stateless tickets only; nothing is cached per client.
    SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
    return result;
}

std::unique_ptr<Context> Context::client(const std::string& cacertfile, const std::string& certfile,
                                         const std::string& keyfile, std::string& error) {
    ERR_clear_error();
    SSL_CTX* context = SSL_CTX_new(TLS_client_method());
    if (context == nullptr) {
        error = "cannot create a TLS context: " + take_openssl_errors("out of memory");
        return nullptr;
    }
    std::unique_ptr<Context> result(new Context(context, false));
    SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
    if (!cacertfile.empty()) {
        if (SSL_CTX_load_verify_locations(context, cacertfile.c_str(), nullptr) != 1) {
            error = "cannot load CA file " + quoted(cacertfile) + ": " +
                    take_openssl_errors("unknown error");
            return nullptr;
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
    }
    if (!certfile.empty()) {
        Settings settings;
        settings.certfile = certfile;
        settings.keyfile = keyfile;
        if (!load_chain_and_key(context, settings, error)) return nullptr;
    }
    return result;
}

Context::~Context() { SSL_CTX_free(context_); }

}  // namespace lepus::tls
