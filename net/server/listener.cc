#include "net/server/listener.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lepus::server {

namespace {

std::string address_text(const sockaddr_storage& address) {
    char host[INET6_ADDRSTRLEN] = "?";
    if (address.ss_family == AF_INET) {
        const auto& a = reinterpret_cast<const sockaddr_in&>(address);
        inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
        return std::string(host) + ":" + std::to_string(ntohs(a.sin_port));
    }
    const auto& a = reinterpret_cast<const sockaddr_in6&>(address);
    inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(a.sin6_port));
}

enum class Sharing : u8 {
    // The first socket on an address: bound without SO_REUSEPORT, so the bind fails wherever
    // any socket is bound already (shared or not), then given SO_REUSEPORT before listen so
    // that the other shards' sockets may join it.
    first,
    with_other_shards,
};

// The socket, or -errno and `error`.
int open_listener(const ListenAddress& address, Sharing sharing, std::string& error) {
    int fd = socket(address.address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int code = errno;
        error = address.key + ": cannot listen on " + address.text + ": " + std::strerror(code);
        return -code;
    }
    int one = 1;
    // SO_REUSEADDR lets a restarted broker listen while its old connections sit in TIME_WAIT;
    // it never lets two sockets listen on one address.
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (sharing == Sharing::with_other_shards) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    }
    bool bound = bind(fd, reinterpret_cast<const sockaddr*>(&address.address), address.length) == 0;
    if (bound && sharing == Sharing::first) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    }
    if (!bound || listen(fd, 4096) < 0) {
        int code = errno;
        error = address.key + ": cannot listen on " + address.text + ": " + std::strerror(code);
        if (code == EADDRINUSE) error += " (is another broker running?)";
        ::close(fd);
        return -code;
    }
    return fd;
}

bool same_address(const ListenAddress& a, const ListenAddress& b) {
    return a.length == b.length && std::memcmp(&a.address, &b.address, a.length) == 0;
}

}  // namespace

std::string resolve_listeners(const std::vector<ListenerSpec>& listeners,
                              std::vector<ListenAddress>& out) {
    for (const ListenerSpec& spec : listeners) {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
        addrinfo* result = nullptr;
        std::string port_text = std::to_string(spec.port);
        int rc = getaddrinfo(spec.host.c_str(), port_text.c_str(), &hints, &result);
        if (rc != 0) {
            return spec.key + ": cannot resolve '" + spec.host + "': " + gai_strerror(rc);
        }
        for (addrinfo* entry = result; entry != nullptr; entry = entry->ai_next) {
            if (entry->ai_family != AF_INET && entry->ai_family != AF_INET6) continue;
            ListenAddress address;
            address.key = spec.key;
            address.transport = spec.transport;
            std::memcpy(&address.address, entry->ai_addr, entry->ai_addrlen);
            address.length = entry->ai_addrlen;
            address.text = address_text(address.address);
            bool seen = false;
            for (const ListenAddress& other : out) {
                if (!same_address(other, address)) continue;
                if (other.key != address.key) {
                    freeaddrinfo(result);
                    return other.key + " and " + address.key + " both listen on " + address.text;
                }
                seen = true;
            }
            if (!seen) out.push_back(std::move(address));
        }
        freeaddrinfo(result);
    }
    return {};
}

int open_shared_listener(const ListenAddress& address, std::string& error) {
    return open_listener(address, Sharing::with_other_shards, error);
}

int open_first_listener(const ListenAddress& address, std::string& error) {
    // The kernel decides, atomically, which of two brokers started at once gets the address:
    // the first socket's bind has no SO_REUSEPORT, so it fails where any socket is bound.
    // A broker that was just killed leaves listeners behind for a moment (the kernel tears its
    // io_uring down asynchronously, and pending accepts keep the sockets open), so a busy
    // address is tried again for a short while before the start fails.
    constexpr int attempts = 40;
    constexpr useconds_t pause_us = 50'000;
    int fd = -EADDRINUSE;
    for (int attempt = 0; attempt < attempts && fd == -EADDRINUSE; attempt++) {
        if (attempt > 0) usleep(pause_us);
        error.clear();
        fd = open_listener(address, Sharing::first, error);
    }
    return fd;
}

}  // namespace lepus::server
