#include "app/ctl/admin_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/base/assert.h"

namespace lepus::ctl {

namespace {

// Milliseconds left before the deadline, for poll(); at least 0.
int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::clamp<i64>(left.count(), 0, 1'000'000'000));
}

// Waits for `events` on fd until the deadline: 1 ready, 0 timed out, -errno on error.
int wait_for(int fd, short events, Clock::time_point deadline) {
    while (true) {
        pollfd entry{fd, events, 0};
        int ready = ::poll(&entry, 1, remaining_ms(deadline));
        if (ready >= 0) return ready;
        if (errno != EINTR) return -errno;
    }
}

}  // namespace

std::string admin_socket_path(const std::string& data_dir) {
    std::string path = data_dir.empty() ? std::string(".") : data_dir;
    if (path.back() != '/') path += '/';
    return path + std::string(admin_socket_name);
}

AdminSocket::~AdminSocket() {
    if (fd_ >= 0) ::close(fd_);
}

AdminFailure AdminSocket::connect(const std::string& path, Clock::time_point deadline,
                                  std::string& detail) {
    LEPUS_ASSERT(fd_ < 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() > admin_socket_path_max) {
        detail =
            "the socket's path is longer than " + std::to_string(admin_socket_path_max) + " bytes";
        return AdminFailure::unreachable;
    }
    std::memcpy(address.sun_path, path.data(), path.size());
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) {
        detail = std::strerror(errno);
        return AdminFailure::unreachable;
    }
    // A Unix socket whose backlog is full answers EAGAIN and leaves nothing in progress: try
    // again shortly, until the deadline.
    while (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        if (errno == EINTR) continue;
        if (errno == EINPROGRESS) break;
        if (errno != EAGAIN) {
            detail = std::strerror(errno);
            return AdminFailure::unreachable;
        }
        if (Clock::now() >= deadline) {
            detail = "the broker's backlog stayed full until the timeout";
            return AdminFailure::timeout;
        }
        ::usleep(10'000);
    }
    int ready = wait_for(fd_, POLLOUT, deadline);
    if (ready <= 0) {
        detail = ready == 0 ? "no connection before the timeout" : std::strerror(-ready);
        return ready == 0 ? AdminFailure::timeout : AdminFailure::unreachable;
    }
    int error = 0;
    socklen_t size = sizeof error;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &size);
    if (error != 0) {
        detail = std::strerror(error);
        return AdminFailure::unreachable;
    }
    return AdminFailure::none;
}

AdminReply AdminSocket::exchange(const Json& request, Clock::time_point deadline) {
    LEPUS_ASSERT(fd_ >= 0);
    AdminReply reply;
    std::string bytes = request.dump();
    if (bytes.size() > admin_request_size_max) {
        reply.failure = AdminFailure::broken;
        reply.detail = "the request is larger than the broker takes (" +
                       std::to_string(admin_request_size_max >> 20) + " MiB)";
        return reply;
    }
    usize sent = 0;
    while (sent < bytes.size()) {
        ssize_t written = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (written >= 0) {
            sent += static_cast<usize>(written);
            continue;
        }
        if (errno == EINTR) continue;
        int ready = errno == EAGAIN ? wait_for(fd_, POLLOUT, deadline) : -errno;
        if (ready <= 0) {
            reply.failure = ready == 0 ? AdminFailure::timeout : AdminFailure::broken;
            reply.detail = ready == 0 ? "sending the request timed out" : std::strerror(-ready);
            return reply;
        }
    }
    ::shutdown(fd_, SHUT_WR);
    std::string answer;
    char buffer[64 * 1024];
    while (true) {
        ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
        if (got == 0) break;
        if (got > 0) {
            answer.append(buffer, static_cast<usize>(got));
            if (answer.size() > admin_answer_size_max) {
                reply.failure = AdminFailure::broken;
                reply.detail = "the answer is larger than " +
                               std::to_string(admin_answer_size_max >> 20) + " MiB";
                return reply;
            }
            continue;
        }
        if (errno == EINTR) continue;
        int ready = errno == EAGAIN ? wait_for(fd_, POLLIN, deadline) : -errno;
        if (ready <= 0) {
            reply.failure = ready == 0 ? AdminFailure::timeout : AdminFailure::broken;
            reply.detail = ready == 0 ? "no answer before the timeout" : std::strerror(-ready);
            return reply;
        }
    }
    reply.answer = Json::parse(answer, nullptr, false);
    if (reply.answer.is_discarded() || !reply.answer.is_object()) {
        reply.failure = AdminFailure::broken;
        reply.detail = answer.empty() ? "the broker closed the socket without an answer"
                                      : "the answer is not a JSON object";
        reply.answer = Json();
    }
    return reply;
}

}  // namespace lepus::ctl
