#include "app/ctl/socket.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/base/assert.h"

namespace lepus::ctl {

namespace {

std::string errno_text(int error) { return std::strerror(error); }

std::string seconds_text(u32 timeout_ms) {
    if (timeout_ms % 1000 == 0) return std::to_string(timeout_ms / 1000) + " s";
    return std::to_string(timeout_ms) + " ms";
}

// Waits for `events` on fd; 1 when ready, 0 on timeout, -errno on error. EINTR restarts the
// wait with the full limit, which is good enough for a command-line tool.
int wait_for(int fd, short events, u32 timeout_ms) {
    pollfd entry{fd, events, 0};
    for (;;) {
        int n = ::poll(&entry, 1, static_cast<int>(timeout_ms));
        if (n >= 0) return n > 0 ? 1 : 0;
        if (errno != EINTR) return -errno;
    }
}

// Connects one resolved address without blocking past the limit. Returns the descriptor, or
// -1 with `error` describing why.
int connect_address(const addrinfo& address, u32 timeout_ms, std::string& error) {
    int fd = ::socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      address.ai_protocol);
    if (fd < 0) {
        error = errno_text(errno);
        return -1;
    }
    int result = ::connect(fd, address.ai_addr, address.ai_addrlen);
    if (result != 0 && errno != EINPROGRESS) {
        error = errno_text(errno);
        ::close(fd);
        return -1;
    }
    if (result != 0) {
        int ready = wait_for(fd, POLLOUT, timeout_ms);
        int socket_error = 0;
        socklen_t length = sizeof(socket_error);
        if (ready == 0) {
            error = "no answer within " + seconds_text(timeout_ms);
        } else if (ready < 0) {
            error = errno_text(-ready);
        } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &socket_error, &length) != 0) {
            error = errno_text(errno);
        } else if (socket_error != 0) {
            error = errno_text(socket_error);
        }
        if (ready <= 0 || socket_error != 0 || !error.empty()) {
            ::close(fd);
            return -1;
        }
    }
    // Back to blocking mode; the waits below go through poll with the limit.
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        error = errno_text(errno);
        ::close(fd);
        return -1;
    }
    // Commands are a few small frames each way: send them at once rather than wait for acks.
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

}  // namespace

Socket::~Socket() { close(); }

void Socket::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

Status Socket::connect(const std::string& host, const std::string& port, u32 timeout_ms) {
    LEPUS_ASSERT(fd_ < 0);
    LEPUS_ASSERT(timeout_ms > 0);
    timeout_ms_ = timeout_ms;
    std::string where =
        host.find(':') == std::string::npos ? host + ":" + port : "[" + host + "]:" + port;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* addresses = nullptr;
    int resolved = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &addresses);
    if (resolved != 0) {
        return Status::failed("cannot resolve " + where + ": " + ::gai_strerror(resolved));
    }
    std::string error = "no address";
    for (addrinfo* address = addresses; address != nullptr; address = address->ai_next) {
        error.clear();
        fd_ = connect_address(*address, timeout_ms, error);
        if (fd_ >= 0) break;
    }
    ::freeaddrinfo(addresses);
    if (fd_ < 0) return Status::failed("cannot connect to " + where + ": " + error);
    return Status::success();
}

Status Socket::send_all(std::string_view bytes) {
    LEPUS_ASSERT(fd_ >= 0);
    while (!bytes.empty()) {
        int ready = wait_for(fd_, POLLOUT, timeout_ms_);
        if (ready == 0) {
            return Status::failed("the broker took no data for " + seconds_text(timeout_ms_));
        }
        if (ready < 0) return Status::failed("send failed: " + errno_text(-ready));
        // MSG_NOSIGNAL: a broker that has gone away is an error to report, not a SIGPIPE.
        ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
            return Status::failed("send failed: " + errno_text(errno));
        }
        bytes.remove_prefix(static_cast<usize>(sent));
    }
    return Status::success();
}

Status Socket::receive(std::string& buffer) {
    LEPUS_ASSERT(fd_ >= 0);
    usize old_size = buffer.size();
    for (;;) {
        int ready = wait_for(fd_, POLLIN, timeout_ms_);
        if (ready == 0) {
            return Status::failed("no answer from the broker within " + seconds_text(timeout_ms_));
        }
        if (ready < 0) return Status::failed("receive failed: " + errno_text(-ready));
        buffer.resize(old_size + receive_chunk_size);
        ssize_t received = ::recv(fd_, buffer.data() + old_size, receive_chunk_size, MSG_DONTWAIT);
        int error = errno;
        buffer.resize(old_size + (received > 0 ? static_cast<usize>(received) : 0));
        if (received > 0) return Status::success();
        if (received == 0) return Status::failed("the broker closed the connection");
        // A wake-up without data (or a signal) waits again with the full limit.
        if (error != EINTR && error != EAGAIN && error != EWOULDBLOCK) {
            return Status::failed("receive failed: " + errno_text(error));
        }
    }
}

}  // namespace lepus::ctl
