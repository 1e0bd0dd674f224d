#pragma once
// How a lepusctl operation ended, as a value: every step returns a Status, and the first one
// that is not ok travels up to main, which prints its message and exits with its code.
#include <string>
#include <utility>

#include "core/base/types.h"

namespace lepus::ctl {

// Exit codes, documented in docs/lepusctl.md. A refusal is the broker answering no (a reply
// code); a failure is not being able to get an answer at all (no connection, a timeout, a
// connection lost, bytes that are not AMQP). Scripts can tell "the queue is missing" from
// "the broker is down".
inline constexpr int exit_ok = 0;
inline constexpr int exit_refused = 1;
inline constexpr int exit_usage = 2;
inline constexpr int exit_failed = 3;

enum class Outcome : u8 { ok, refused, failed };

struct Status {
    Outcome outcome = Outcome::ok;
    std::string message;

    bool ok() const { return outcome == Outcome::ok; }
    int exit_code() const {
        switch (outcome) {
            case Outcome::ok: return exit_ok;
            case Outcome::refused: return exit_refused;
            case Outcome::failed: return exit_failed;
        }
        return exit_failed;
    }

    static Status success() { return {}; }
    static Status refused(std::string message) { return {Outcome::refused, std::move(message)}; }
    static Status failed(std::string message) { return {Outcome::failed, std::move(message)}; }
};

}  // namespace lepus::ctl
