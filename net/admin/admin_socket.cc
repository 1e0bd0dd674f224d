#include "net/admin/admin_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lepus::admin {

std::string admin_socket_path(const std::string& data_dir) {
    std::string path = data_dir;
    if (path.empty() || path.back() != '/') path.push_back('/');
    return path + "lepusctl.sock";
}

int open_admin_socket(const std::string& data_dir, std::string& error) {
    std::string path = admin_socket_path(data_dir);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path) {
        error = "the administration socket's path " + path + " is longer than " +
                std::to_string(sizeof address.sun_path - 1) +
                " bytes, the limit of a Unix socket: use a shorter data directory path";
        return -1;
    }
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = std::string("cannot create the administration socket: ") + std::strerror(errno);
        return -1;
    }
    // A file left by a lepusd that was killed; the data directory's lock says none runs now.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        error = "cannot remove the old administration socket " + path + ": " + std::strerror(errno);
        ::close(fd);
        return -1;
    }
    // Created owner-only from the start: no moment at which others could connect.
    mode_t previous = ::umask(0177);
    int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    int bind_errno = errno;
    ::umask(previous);
    if (rc != 0) {
        error = "cannot bind the administration socket " + path + ": " + std::strerror(bind_errno);
        ::close(fd);
        return -1;
    }
    if (::chmod(path.c_str(), 0600) != 0 || ::listen(fd, 64) != 0) {
        error = "cannot open the administration socket " + path + ": " + std::strerror(errno);
        ::close(fd);
        return -1;
    }
    return fd;
}

bool peer_may_administer(int fd, std::string& who) {
    ucred credentials{};
    socklen_t length = sizeof credentials;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
        who = std::string("a peer whose credentials cannot be read (") + std::strerror(errno) + ")";
        return false;
    }
    who =
        "uid " + std::to_string(credentials.uid) + " (pid " + std::to_string(credentials.pid) + ")";
    return credentials.uid == ::geteuid() || credentials.uid == 0;
}

}  // namespace lepus::admin
