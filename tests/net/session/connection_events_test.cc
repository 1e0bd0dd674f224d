#include "net/session/connection_events.h"

#include <gtest/gtest.h>

#include <string>

namespace lepus::session {
namespace {

const ConnectionIdentity who{"127.0.0.1:5000 -> 127.0.0.1:5672", "127.0.0.1:5000", "guest", "/"};
constexpr std::string_view prefix =
    "connection=\"127.0.0.1:5000 -> 127.0.0.1:5672\" event=closed peer=127.0.0.1:5000 "
    "user=guest vhost=/ ";

TEST(ConnectionEvents, Accepted) {
    const ConnectionIdentity anonymous{"a -> b", "a", "", ""};
    EXPECT_EQ(accepted_fields(anonymous, true).text(),
              "connection=\"a -> b\" event=accepted peer=a tls=true");
}

TEST(ConnectionEvents, Authenticated) {
    EXPECT_EQ(authenticated_fields(who, "Pika Python Client Library", "PLAIN").text(),
              "connection=\"127.0.0.1:5000 -> 127.0.0.1:5672\" event=authenticated "
              "peer=127.0.0.1:5000 user=guest vhost=/ client=\"Pika Python Client Library\" "
              "auth_mechanism=PLAIN");
}

// Every way a connection ends, as the closed line tells it.
TEST(ConnectionEvents, ClosedReasons) {
    struct Row {
        CloseCause cause;
        const char* end_reason;
        std::string expected;
    };
    const Row rows[] = {
        {{CloseCause::Kind::client_close, 200, "Normal shutdown"},
         "closed after the last frame",
         "reason=client_close code=200 text=\"Normal shutdown\""},
        {{CloseCause::Kind::broker_close, 320, "CONNECTION_FORCED - bye"},
         "peer closed the socket",
         "reason=broker_close code=320 text=\"CONNECTION_FORCED - bye\""},
        {{CloseCause::Kind::handshake_failed, 0, "bad"},
         "handshake failed",
         "reason=handshake_failed detail=bad"},
        {{}, "peer closed the socket", "reason=network_error detail=\"peer closed the socket\""},
        {{}, "socket error", "reason=network_error detail=\"socket error\""},
        {{}, "send failed", "reason=network_error detail=\"send failed\""},
        {{}, "missed heartbeats", "reason=heartbeat_timeout timeout_s=5"},
        {{}, "handshake timeout", "reason=handshake_timeout"},
        {{}, "send timeout", "reason=send_timeout"},
        {{}, "something new", "reason=other detail=\"something new\""},
    };
    for (const Row& row : rows) {
        EXPECT_EQ(closed_fields(who, row.cause, row.end_reason, 5).text(),
                  std::string(prefix) + row.expected)
            << row.end_reason;
    }
}

TEST(ConnectionEvents, ClosedBeforeLoginNamesNoUser) {
    const ConnectionIdentity anonymous{"a -> b", "a", "", ""};
    EXPECT_EQ(closed_fields(anonymous, {}, "handshake timeout", 60).text(),
              "connection=\"a -> b\" event=closed peer=a reason=handshake_timeout");
}

}  // namespace
}  // namespace lepus::session
