// A Connection's TLS path: ciphertext from the receive is decrypted into chunks that join the
// inbox as a plain connection's receives do, and what the session writes is encrypted at send
// time. Everything runs in the shard's loop, on memory BIOs (net/tls/stream.h): no thread, no
// blocking call. A plain connection never comes here.
#include <cstring>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "net/server/connection.h"
#include "net/server/tls_state.h"

namespace lepus::server {

void Connection::receive_tls(const char* data, u32 size) {
    TlsState& tls = *tls_;
    if (tls.failing) return;
    tls::Stream& stream = tls.stream;
    stream.feed(data, size);
    // Decrypted bytes fill one receive-sized chunk after another, so the inbox sees what it
    // would have seen on a plain connection: frames in chunks, parsed in place. A chunk that
    // was not handed on is freed on return: an idle connection holds none.
    ChunkRef spare;
    for (;;) {
        if (!spare) spare = ChunkRef::adopt(Chunk::allocate(limits::recv_buffer_size));
        char* into = spare.get()->data();
        usize filled = 0;
        while (filled < limits::recv_buffer_size) {
            usize got = stream.read(into + filled, limits::recv_buffer_size - filled);
            if (got == 0) break;
            filled += got;
        }
        if (filled == 0) break;
        ChunkRef chunk = std::move(spare);
        if (filled <= limits::recv_compact_max) {
            Chunk* fitted = Chunk::allocate(static_cast<u32>(filled));
            std::memcpy(fitted->data(), into, filled);
            spare = std::move(chunk);  // kept for the next round
            chunk = ChunkRef::adopt(fitted);
        }
        receive(std::move(chunk), static_cast<u32>(filled));
        if (closed_) return;
    }
    tls::Stream::State state = stream.state();
    if (state == tls::Stream::State::open && !tls.open_logged) {
        tls.open_logged = true;
        std::string name = stream.verified_peer_common_name();
        LEPUS_LOG(info, "connection %s: TLS handshake done (%s)%s%s", peer_name().c_str(),
                  stream.description().c_str(),
                  name.empty() ? "" : ", verified client certificate CN=", name.c_str());
        session_.set_certificate_user(std::move(name));
    }
    if (state == tls::Stream::State::failed) {
        fail_tls();
        return;
    }
    if (state == tls::Stream::State::closed && !peer_gone_) {
        // close_notify: as the end of the TCP stream, once what came before it is handled.
        peer_gone_ = true;
        stop_reading();
        if (inbox_.empty()) end_after_peer_closed();
        return;
    }
    if (stream.pending() > 0) request_flush();  // handshake answers, session tickets
}

void Connection::fail_tls() {
    TlsState& tls = *tls_;
    if (tls.failing) return;
    tls.failing = true;
    LEPUS_LOG(warning, "closing connection %s: TLS %s failed: %s", peer_name().c_str(),
              tls.open_logged ? "connection" : "handshake", tls.stream.error().c_str());
    stop_reading();
    // The alert OpenSSL wrote goes out first; the socket closes once it is sent.
    if (tls.stream.pending() > 0 || send_completion_.in_flight) {
        request_flush();
    } else {
        terminate("TLS failed");
    }
}

usize Connection::tls_backlog() const {
    return tls_->cipher.size() - tls_->cipher_sent + tls_->stream.pending();
}

bool Connection::encrypt(const char* data, usize size) {
    // Small pieces (a frame's bytes, a 16-byte body) are gathered into whole records: a record
    // per iovec would cost a header, a tag and a cipher call for every few bytes.
    TlsState& tls = *tls_;
    if (tls.staged.size() + size > tls_record_plaintext_max && !encrypt_staged()) return false;
    if (size < tls_record_plaintext_max) {
        tls.staged.append(data, size);
        return true;
    }
    if (tls.stream.write(data, size)) return true;
    write_failed();
    return false;
}

bool Connection::encrypt_staged() {
    TlsState& tls = *tls_;
    if (tls.staged.empty()) return true;
    bool written = tls.stream.write(tls.staged.data(), tls.staged.size());
    tls.staged.clear();  // its storage stays for the next record of this flush
    if (!written) write_failed();
    return written;
}

void Connection::write_failed() {
    // After the peer's close_notify nothing more can be sent; the connection ends once what
    // the peer sent before it is handled (receive_tls). Anything else is an error.
    if (tls_->stream.state() == tls::Stream::State::failed) fail_tls();
}

void Connection::flush_tls() {
    TlsState& tls = *tls_;
    tls::Stream& stream = tls.stream;
    if (stream.state() == tls::Stream::State::open && !tls.failing) {
        // Plaintext into the stream, a bounded batch per send; the rest waits in the queues.
        if (sending_.empty() && !out_.empty()) out_.swap_contents(sending_);
        while (!sending_.empty() && stream.pending() < tls_encrypt_batch_bytes) {
            auto wanted =
                static_cast<u32>(std::min<usize>(sending_.iovec_count(), limits::iovec_count_max));
            if (iov_.size() < wanted) iov_.resize(wanted);
            u32 count = sending_.build_iovecs(iov_.data(), wanted);
            usize written = 0;
            for (u32 i = 0; i < count && stream.pending() < tls_encrypt_batch_bytes; i++) {
                if (!encrypt(static_cast<const char*>(iov_[i].iov_base), iov_[i].iov_len)) return;
                written += iov_[i].iov_len;
            }
            if (!encrypt_staged()) return;
            std::string().swap(tls.staged);
            if (sending_.consume(written)) {
                sending_.clear();
                if (!out_.empty()) out_.swap_contents(sending_);
            }
        }
    }
    usize pending = stream.pending();
    if (pending == 0) {
        if (tls.failing) terminate("TLS failed");
        return;
    }
    tls.cipher.resize(pending);
    usize taken = stream.take(tls.cipher.data(), pending);
    LEPUS_ASSERT(taken == pending);
    tls.cipher_sent = 0;
    io_uring_sqe* sqe = context_.ring.prepare(send_completion_);
    io_uring_prep_send(sqe, fd_, tls.cipher.data(), tls.cipher.size(), MSG_NOSIGNAL);
    session_.note_sent();
    send_progress_ms_ = context_.now_ms;
}

void Connection::on_send_tls(io::Completion& completion, i32 result, u32) {
    auto& self = *static_cast<Connection*>(completion.owner);
    TlsState& tls = *self.tls_;
    if (self.closed_) return;
    if (result < 0) {
        if (!tls.failing) {
            LEPUS_LOG(warning, "send to %s failed: %s", self.peer_name().c_str(),
                      std::strerror(-result));
        }
        self.terminate(tls.failing ? "TLS failed" : "send failed");
        return;
    }
    self.send_progress_ms_ = self.context_.now_ms;
    self.sent_bytes_ += static_cast<u64>(result);
    tls.cipher_sent += static_cast<usize>(result);
    if (tls.cipher_sent < tls.cipher.size()) {
        // The rest of a partial send.
        io_uring_sqe* sqe = self.context_.ring.prepare(self.send_completion_);
        io_uring_prep_send(sqe, self.fd_, tls.cipher.data() + tls.cipher_sent,
                           tls.cipher.size() - tls.cipher_sent, MSG_NOSIGNAL);
        return;
    }
    // Freed, not kept: an idle connection holds no send buffer (the allocator makes the next
    // one cheap, next to what encryption costs).
    std::vector<char>().swap(tls.cipher);
    tls.cipher_sent = 0;
    if (tls.failing && tls.stream.pending() == 0) {
        self.terminate("TLS failed");
        return;
    }
    self.ease_send_backlog();
    self.session_.after_send();
    if (!self.out_.empty() || !self.sending_.empty() || tls.stream.pending() > 0) {
        self.flush();
    } else if (self.session_.ends_after_send()) {
        self.terminate("closed after the last frame was sent");
    }
}

std::string Connection::tls_protocol() const { return tls_ ? tls_->stream.protocol() : ""; }

std::string Connection::tls_cipher() const { return tls_ ? tls_->stream.cipher() : ""; }

}  // namespace lepus::server
