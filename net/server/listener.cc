#include "net/server/listener.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lepus::server {

namespace {

enum class Sharing : u8 { exclusive, with_other_shards };

// The socket, or -errno (-EINVAL for an address that does not parse) and `error`.
int open_listener(const std::string& host, u16 port, Sharing sharing, std::string& error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    addrinfo* result = nullptr;
    std::string port_text = std::to_string(port);
    int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &result);
    if (rc != 0) {
        error = "cannot use listen address '" + host + "': " + gai_strerror(rc);
        return -EINVAL;
    }
    int fd = socket(result->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int code = errno;
        error = std::string("socket: ") + std::strerror(code);
        freeaddrinfo(result);
        return -code;
    }
    int one = 1;
    // SO_REUSEADDR lets a restarted broker listen while its old connections sit in TIME_WAIT;
    // it never lets two sockets listen on one address.
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (sharing == Sharing::with_other_shards) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    }
    if (bind(fd, result->ai_addr, result->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
        int code = errno;
        error = "cannot listen on " + host + ":" + port_text + ": " + std::strerror(code);
        if (code == EADDRINUSE) error += " (is another broker running?)";
        ::close(fd);
        freeaddrinfo(result);
        return -code;
    }
    freeaddrinfo(result);
    return fd;
}

}  // namespace

int open_shared_listener(const std::string& host, u16 port, std::string& error) {
    return open_listener(host, port, Sharing::with_other_shards, error);
}

std::string check_listen_address_free(const std::string& host, u16 port) {
    // A socket without SO_REUSEPORT cannot bind where any socket listens, shared or not. It is
    // closed again at once; the shards then bind theirs. Two brokers started in the same
    // instant could both pass, but not on one data directory, which is locked first.
    // A broker that was just killed leaves listeners behind for a moment (the kernel tears its
    // io_uring down asynchronously, and pending accepts keep the sockets open), so a busy
    // address is tried again for a short while before the start fails.
    constexpr int attempts = 40;
    constexpr useconds_t pause_us = 50'000;
    std::string error;
    for (int attempt = 0; attempt < attempts; attempt++) {
        error.clear();
        int fd = open_listener(host, port, Sharing::exclusive, error);
        if (fd >= 0) {
            ::close(fd);
            return {};
        }
        if (fd != -EADDRINUSE) return error;
        usleep(pause_us);
    }
    return error;
}

}  // namespace lepus::server
