#include "core/base/log_fields.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace lepus::log {
namespace {

TEST(LogFields, PlainTokensAreBare) {
    EXPECT_EQ(field_value("127.0.0.1:5000"), "127.0.0.1:5000");
    EXPECT_EQ(field_value("/"), "/");
    EXPECT_EQ(field_value("Grüße"), "Grüße") << "UTF-8 is not a reason to quote";
}

TEST(LogFields, ValuesThatWouldBreakTheLayoutAreQuoted) {
    EXPECT_EQ(field_value(""), "\"\"") << "an empty value still has a value";
    EXPECT_EQ(field_value("127.0.0.1:5000 -> 127.0.0.1:5672"),
              "\"127.0.0.1:5000 -> 127.0.0.1:5672\"");
    EXPECT_EQ(field_value("a=b"), "\"a=b\"");
    EXPECT_EQ(field_value("say \"hi\""), "\"say \\\"hi\\\"\"");
    EXPECT_EQ(field_value("back\\slash"), "\"back\\\\slash\"");
    EXPECT_EQ(field_value("two\nlines\r\t\x01"), "\"two\\nlines\\r\\t\\x01\"");
}

TEST(LogFields, FieldsAreSeparatedBySingleSpaces) {
    Fields fields;
    fields.add("connection", "a -> b").add("event", "closed").add("code", u64{320});
    EXPECT_EQ(fields.text(), "connection=\"a -> b\" event=closed code=320");
}

std::string read_all(const std::filesystem::path& path) {
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

// logrotate moves the file away and sends SIGHUP: lines before the reopen stay in the moved
// file, lines after it go to a new file at the configured path.
TEST(LogFile, ReopenStartsANewFileAfterItWasMoved) {
    std::string pattern = (std::filesystem::temp_directory_path() / "lepus-log-XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    const std::filesystem::path dir = pattern;
    const std::filesystem::path path = dir / "lepus.log";
    set_console(false);
    set_level(Level::info);
    ASSERT_EQ(open_file(path.string()), "");
    write_fields(Level::info, Fields().add("event", "before"));
    LEPUS_LOG(debug, "not at this level");
    std::filesystem::rename(path, dir / "lepus.log.1");
    write_fields(Level::info, Fields().add("event", "moved"));
    ASSERT_EQ(reopen_file(), "");
    write_fields(Level::info, Fields().add("event", "after"));
    set_console(true);
    std::string old_file = read_all(dir / "lepus.log.1");
    std::string new_file = read_all(path);
    EXPECT_NE(old_file.find("[info] event=before\n"), std::string::npos) << old_file;
    EXPECT_NE(old_file.find("[info] event=moved\n"), std::string::npos) << old_file;
    EXPECT_EQ(old_file.find("not at this level"), std::string::npos);
    EXPECT_EQ(old_file.find("after"), std::string::npos);
    EXPECT_NE(new_file.find("[info] event=after\n"), std::string::npos) << new_file;
    EXPECT_EQ(new_file.find("before"), std::string::npos);
    std::filesystem::remove_all(dir);
}

TEST(LogFile, AFileThatCannotBeOpenedSaysWhy) {
    EXPECT_NE(open_file("/nonexistent-dir/lepus.log").find("cannot open log file"),
              std::string::npos);
}

}  // namespace
}  // namespace lepus::log
