#pragma once
// What a TLS connection holds beyond a plain one: its TLS stream, the ciphertext on its way to
// the socket, and where the handshake stands. Owned by its Connection, on its shard.
#include <string>
#include <vector>

#include "core/base/types.h"
#include "net/tls/stream.h"

namespace lepus::server {

// Plaintext encrypted per flush, at most (about): the rest stays in the out-queue, where it
// counts toward the send backlog like a plain connection's output, until this much has gone.
inline constexpr usize tls_encrypt_batch_bytes = 256 * 1024;

// The most plaintext one TLS record carries (RFC 8446, 5.1).
inline constexpr usize tls_record_plaintext_max = 16 * 1024;

struct TlsState {
    explicit TlsState(const tls::Context& context) : stream(context) {}

    tls::Stream stream;
    // Ciphertext taken from the stream for the send in flight: [sent, size()).
    std::vector<char> cipher;
    usize cipher_sent = 0;
    // Plaintext gathered into one record before it is encrypted (see Connection::encrypt).
    std::string staged;
    bool open_logged = false;  // the handshake's outcome has been logged
    // A TLS error: the alert goes out, then the connection ends; nothing more is read.
    bool failing = false;
};

}  // namespace lepus::server
