#pragma once
// A blocking TCP connection with a time limit on every wait. lepusctl runs one short command
// and exits, so plain blocking sockets are the simplest correct tool; the limit keeps a broker
// that stops answering from hanging an operator's script.
#include <string>
#include <string_view>

#include "app/ctl/status.h"
#include "core/base/types.h"

namespace lepus::ctl {

// Owns one socket descriptor, closed by the destructor. Not copyable: the descriptor has one
// owner.
class Socket {
public:
    Socket() = default;
    ~Socket();
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;

    // Resolves host and port and connects to the first address that accepts within
    // timeout_ms. The same limit then applies to every send and receive.
    Status connect(const std::string& host, const std::string& port, u32 timeout_ms);

    // Sends every byte, or fails: a peer that takes no bytes for timeout_ms is a failure.
    Status send_all(std::string_view bytes);

    // Appends at least one received byte to `buffer` (at most receive_chunk_size), or fails:
    // on a timeout, on an error, and when the peer has closed the connection.
    Status receive(std::string& buffer);

    void close();
    bool is_open() const { return fd_ >= 0; }
    u32 timeout_ms() const { return timeout_ms_; }

    static constexpr usize receive_chunk_size = 64 * 1024;

private:
    int fd_ = -1;
    u32 timeout_ms_ = 0;
};

}  // namespace lepus::ctl
