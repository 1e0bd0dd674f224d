#pragma once
// lepusd's exit codes, as README.md ("Running lepusd") lists them, so that a supervisor or an
// operator can tell a disk to clean up from a setting to fix.
#include <string>
#include <utility>

namespace lepus::server {

enum class ExitCode : int {
    ok = 0,
    start_failed = 1,     // the log says why
    usage = 2,            // a bad flag or config line
    no_space = 73,        // not enough free disk to start; the log says how much (EX_CANTCREAT)
    journal_failed = 75,  // a journal write failed while running: fail-stop (EX_TEMPFAIL)
};

inline int exit_status(ExitCode code) { return static_cast<int>(code); }

// Why start-up failed and the exit code that says so; an empty reason is success.
struct StartError {
    StartError() = default;
    // Implicit on purpose: `return reason;` reads best in the many places that fail.
    StartError(std::string text, ExitCode exit = ExitCode::start_failed)
        : reason(std::move(text)), code(exit) {}
    bool failed() const { return !reason.empty(); }

    std::string reason;
    ExitCode code = ExitCode::start_failed;
};

}  // namespace lepus::server
