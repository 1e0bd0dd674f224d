#pragma once
// One TLS connection as a pure byte transformer: ciphertext in, plaintext out, and plaintext
// in, ciphertext out, through OpenSSL memory BIOs. It never touches a socket, so it runs
// inside a shard's io_uring loop (the connection feeds it what a receive brought and sends
// what it has to send) and in tests with two streams wired to each other. Nothing here blocks
// or waits: a call does what the bytes at hand allow and returns.
//
// Owns its SSL object and both BIOs; lives with the connection that made it, on its shard.
#include <openssl/ssl.h>

#include <string>

#include "core/base/types.h"
#include "net/tls/context.h"

namespace lepus::tls {

class Stream {
public:
    enum class State : u8 {
        handshaking,
        open,    // the handshake is done: application data flows
        closed,  // the peer sent close_notify
        failed,  // a handshake or record error; error() says what
    };

    // A server stream with a server context, a client stream with a client one (which sends
    // its ClientHello at once: pending() is non-zero after construction).
    explicit Stream(const Context& context);
    ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    // Ciphertext from the peer; OpenSSL copies it into its read BIO.
    void feed(const char* data, usize size);
    // Decrypts into `out` as much as has arrived, up to `capacity`; 0 when nothing more can be
    // read now (then state() says whether the stream is still good). Drives the handshake:
    // check pending() afterwards, since it may have answers to send.
    usize read(char* out, usize capacity);
    // Encrypts all of `data` (the BIO is memory: it never refuses); false once failed or
    // closed. Not while handshaking.
    bool write(const char* data, usize size);
    // Ciphertext waiting to be sent to the peer.
    usize pending() const;
    // Moves up to `capacity` bytes of it into `out`; returns how many.
    usize take(char* out, usize capacity);
    // Sends close_notify (into pending()).
    void shutdown();

    State state() const { return state_; }
    static const char* state_name(State state);
    const std::string& error() const { return error_; }
    // The subject CN of the peer's certificate, when it sent one and it verified; else empty.
    std::string verified_peer_common_name() const;
    // As "TLSv1.3 TLS_AES_256_GCM_SHA384", once open.
    std::string description() const;
    // The negotiated version and cipher suite, in OpenSSL's names; empty before the handshake.
    std::string protocol() const;
    std::string cipher() const;

private:
    void after_call(int result);

    SSL* ssl_;
    BIO* in_;   // ciphertext from the peer, owned by ssl_
    BIO* out_;  // ciphertext to the peer, owned by ssl_
    State state_ = State::handshaking;
    std::string error_;
};

}  // namespace lepus::tls
