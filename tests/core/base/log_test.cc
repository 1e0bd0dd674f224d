#include "core/base/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <string>

namespace lepus::log {
namespace {

// Runs `body` with stderr sent into a pipe and returns what it wrote: the log writes to file
// descriptor 2 directly, so this is the line exactly as an operator would read it.
template <typename Body>
std::string captured_stderr(Body body) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    const int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[1]);
    body();
    dup2(saved, STDERR_FILENO);
    close(saved);
    std::string out;
    char buffer[4096];
    for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) {
        out.append(buffer, static_cast<size_t>(n));
    }
    close(fds[0]);
    return out;
}

// The text after "[level] " on the one line written.
std::string text_of(const std::string& line) {
    const size_t at = line.find("] ");
    return at == std::string::npos ? line : line.substr(at + 2);
}

// Control bytes become escapes and a backslash is doubled, so the text reads back unambiguously;
// UTF-8 passes unchanged.
TEST(LogTest, ControlCharactersAreEscaped) {
    std::string line = captured_stderr([] {
        write(Level::error, "user '%s' refused",
              "a\nb\rc\td\x01"
              "e\x1b[31m\x7f\\f Grüße");
    });
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
    EXPECT_EQ(text_of(line), "user 'a\\nb\\rc\\td\\x01e\\x1b[31m\\x7f\\\\f Grüße' refused\n");
}

TEST(LogTest, AForgedLineStaysInsideItsOwnLine) {
    const char* name = "guest\n2026-01-01T00:00:00.000Z [error] forged";
    std::string line =
        captured_stderr([&] { write(Level::warning, "login refused for user '%s'", name); });
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line, ended by its own newline
    EXPECT_NE(line.find("'guest\\n2026-01-01T00:00:00.000Z [error] forged'"), std::string::npos);
}

// Escaping can quadruple the text; the line keeps its bound and its single final newline.
TEST(LogTest, LongEscapedTextIsCutAtTheLineLimit) {
    const std::string controls(3000, '\x02');
    std::string line = captured_stderr([&] { write(Level::info, "%s", controls.c_str()); });
    EXPECT_LE(line.size(), 1024u);
    EXPECT_EQ(line.find('\n'), line.size() - 1);
    const std::string text = text_of(line);
    EXPECT_EQ((text.size() - 1) % 4, 0u);  // whole escapes only
    EXPECT_EQ(text.substr(0, 8), "\\x02\\x02");
}

}  // namespace
}  // namespace lepus::log
