// rabbitmq.conf's log.* and load_definitions keys, and the boot definitions file's checks.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "net/server/boot_definitions.h"
#include "net/server/options.h"

namespace lepus::server {
namespace {

class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "lepus-ops-XXXXXX");
        EXPECT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    ~TempDir() { std::filesystem::remove_all(dir_); }
    std::string write(const std::string& name, const std::string& text) const {
        std::string path = (dir_ / name).string();
        std::ofstream(path) << text;
        return path;
    }

private:
    std::filesystem::path dir_;
};

bool load(const std::string& text, Options& out, std::string& error) {
    TempDir dir;
    return load_config_file(dir.write("lepusd.conf", text), out, error);
}

TEST(OperationsOptions, Defaults) {
    const Options o;
    EXPECT_EQ(o.operations.log_file, "");
    EXPECT_FALSE(o.operations.log_console.has_value()) << "stderr unless a file is configured";
    EXPECT_EQ(o.operations.load_definitions, "");
}

TEST(OperationsOptions, RabbitmqConfKeys) {
    Options o;
    std::string error;
    ASSERT_TRUE(
        load("log.file = /var/log/lepus/lepus.log\n"
             "log.file.level = debug\n"
             "log.console = true\n"
             "log.console.level = warning\n"
             "load_definitions = /etc/lepus/definitions.json\n",
             o, error))
        << error;
    EXPECT_EQ(o.operations.log_file, "/var/log/lepus/lepus.log");
    EXPECT_EQ(o.operations.log_file_level, "debug");
    EXPECT_EQ(o.operations.log_console, true);
    EXPECT_EQ(o.operations.log_console_level, "warning");
    EXPECT_EQ(o.operations.load_definitions, "/etc/lepus/definitions.json");
}

TEST(OperationsOptions, LogFileFalseMeansNoFile) {
    Options o;
    std::string error;
    ASSERT_TRUE(load("log.file = false\nlog.console = false\n", o, error)) << error;
    EXPECT_EQ(o.operations.log_file, "");
    EXPECT_EQ(o.operations.log_console, false);
}

TEST(OperationsOptions, BadValuesNameTheLine) {
    const std::pair<const char*, const char*> rows[] = {
        {"log.console = yes\n", "1: log.console: expected true or false, got 'yes'"},
        {"log.file.level = loud\n",
         "1: log.file.level: expected error, warning, info or debug, got 'loud'"},
        {"log.console.level = none\n",
         "1: log.console.level: expected error, warning, info or debug, got 'none'"},
    };
    for (const auto& [text, expected] : rows) {
        Options o;
        std::string error;
        EXPECT_FALSE(load(text, o, error)) << text;
        EXPECT_NE(error.find(expected), std::string::npos) << error;
    }
}

TEST(BootDefinitions, AGoodFileIsRead) {
    TempDir dir;
    std::string path = dir.write("d.json", R"({"vhosts": [{"name": "v"}], "queues": []})");
    nlohmann::json definitions;
    EXPECT_EQ(read_boot_definitions(path, definitions), "");
    EXPECT_EQ(definitions["vhosts"][0]["name"], "v");
}

TEST(BootDefinitions, ABadFileSaysWhatIsWrong) {
    TempDir dir;
    nlohmann::json definitions;
    std::string missing = read_boot_definitions("/nonexistent/d.json", definitions);
    EXPECT_EQ(missing, "load_definitions: /nonexistent/d.json: No such file or directory");
    std::string bad_json = dir.write("bad.json", "{not json");
    EXPECT_EQ(read_boot_definitions(bad_json, definitions),
              "load_definitions: " + bad_json + ": not a JSON object");
    std::string bad_queue = dir.write("queue.json", R"({"queues": [{"name": 5}]})");
    std::string error = read_boot_definitions(bad_queue, definitions);
    EXPECT_EQ(error.rfind("load_definitions: " + bad_queue + ": ", 0), 0u) << error;
    EXPECT_GT(error.size(), ("load_definitions: " + bad_queue + ": ").size());
}

}  // namespace
}  // namespace lepus::server
