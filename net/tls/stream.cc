#include "net/tls/stream.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <climits>

#include "core/base/assert.h"

namespace lepus::tls {

Stream::Stream(const Context& context) : ssl_(SSL_new(context.raw())) {
    LEPUS_ASSERT(ssl_ != nullptr);
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    LEPUS_ASSERT(in_ != nullptr && out_ != nullptr);
    // An empty read BIO means "more to come", never end of file: the socket says when it ends.
    BIO_set_mem_eof_return(in_, -1);
    SSL_set_bio(ssl_, in_, out_);
    if (context.is_server()) {
        SSL_set_accept_state(ssl_);
    } else {
        SSL_set_connect_state(ssl_);
        after_call(SSL_do_handshake(ssl_));
    }
}

Stream::~Stream() { SSL_free(ssl_); }

void Stream::feed(const char* data, usize size) {
    while (size > 0) {
        int part = static_cast<int>(std::min<usize>(size, INT_MAX));
        int written = BIO_write(in_, data, part);
        LEPUS_ASSERT(written == part);  // a memory BIO takes everything or aborts on no memory
        data += part;
        size -= static_cast<usize>(part);
    }
}

usize Stream::read(char* out, usize capacity) {
    if (state_ == State::closed || state_ == State::failed || capacity == 0) return 0;
    int result = SSL_read(ssl_, out, static_cast<int>(std::min<usize>(capacity, INT_MAX)));
    if (result > 0) {
        state_ = State::open;
        return static_cast<usize>(result);
    }
    after_call(result);
    return 0;
}

void Stream::after_call(int result) {
    int error = SSL_get_error(ssl_, result);
    switch (error) {
        case SSL_ERROR_NONE:
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
            if (state_ == State::handshaking && SSL_is_init_finished(ssl_)) state_ = State::open;
            return;
        case SSL_ERROR_ZERO_RETURN: state_ = State::closed; return;
        default: break;
    }
    state_ = State::failed;
    long verified = SSL_get_verify_result(ssl_);
    std::string reason = take_openssl_errors("the connection broke off");
    if (verified != X509_V_OK) {
        reason += std::string(" (certificate: ") + X509_verify_cert_error_string(verified) + ")";
    }
    error_ = std::move(reason);
}

bool Stream::write(const char* data, usize size) {
    LEPUS_ASSERT(state_ != State::handshaking);
    if (state_ != State::open) return false;
    while (size > 0) {
        int part = static_cast<int>(std::min<usize>(size, INT_MAX));
        int written = SSL_write(ssl_, data, part);
        if (written <= 0) {
            after_call(written);
            return false;
        }
        data += written;
        size -= static_cast<usize>(written);
    }
    return true;
}

usize Stream::pending() const { return BIO_ctrl_pending(out_); }

usize Stream::take(char* out, usize capacity) {
    int read = BIO_read(out_, out, static_cast<int>(std::min<usize>(capacity, INT_MAX)));
    return read > 0 ? static_cast<usize>(read) : 0;
}

void Stream::shutdown() {
    if (state_ == State::open) SSL_shutdown(ssl_);
    ERR_clear_error();
}

const char* Stream::state_name(State state) {
    switch (state) {
        case State::handshaking: return "handshaking";
        case State::open: return "open";
        case State::closed: return "closed";
        case State::failed: return "failed";
    }
    return "?";
}

std::string Stream::verified_peer_common_name() const {
    X509* certificate = SSL_get0_peer_certificate(ssl_);
    if (certificate == nullptr || SSL_get_verify_result(ssl_) != X509_V_OK) return {};
    X509_NAME* subject = X509_get_subject_name(certificate);
    int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (index < 0) return {};
    ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    unsigned char* text = nullptr;
    int length = ASN1_STRING_to_UTF8(&text, value);
    if (length < 0) return {};
    std::string name(reinterpret_cast<char*>(text), static_cast<usize>(length));
    OPENSSL_free(text);
    return name;
}

std::string Stream::description() const {
    const char* cipher = SSL_get_cipher_name(ssl_);
    return std::string(SSL_get_version(ssl_)) + " " + (cipher != nullptr ? cipher : "?");
}

std::string Stream::protocol() const {
    if (state_ != State::open) return {};
    return SSL_get_version(ssl_);
}

std::string Stream::cipher() const {
    if (state_ != State::open) return {};
    const char* name = SSL_get_cipher_name(ssl_);
    return name != nullptr ? name : "";
}

}  // namespace lepus::tls
