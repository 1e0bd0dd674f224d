#include "app/ctl/admin_status.h"

#include <gtest/gtest.h>

namespace lepus::ctl {
namespace {

Json answer() {
    return Json::parse(R"({
        "ok": true, "product": "Lepus", "version": "0.1.0", "node": "lepus@h",
        "pid": "<lepus@h.0.0.0>", "os_pid": 42, "uptime_seconds": 7, "data_directory": "/d",
        "config_files": ["/etc/lepusd.conf"], "shards": 2,
        "listeners": [{"protocol": "amqp", "interface": "127.0.0.1", "port": 5672}],
        "memory_bytes": 120700000, "memory_limit_bytes": 10110500000, "alarms": ["memory"],
        "disk_free_bytes": 72620400000, "disk_free_limit_bytes": 50000000,
        "file_descriptors": 4, "file_descriptor_limit": 927, "queues": 1})");
}

TEST(FormatStatus, RabbitmqctlsSectionsWithLepusdsFields) {
    std::string text = format_status(answer(), Formatter::table);
    EXPECT_EQ(text,
              "\x1b[1mRuntime\x1b[0m\n\n"
              "OS PID: 42\nOS: Linux\nUptime (seconds): 7\nLepus version: 0.1.0\n"
              "Node name: lepus@h\nShards: 2\n\n"
              "\x1b[1mData directory\x1b[0m\n\nNode data directory: /d\n\n"
              "\x1b[1mConfig files\x1b[0m\n\n * /etc/lepusd.conf\n\n"
              "\x1b[1mAlarms\x1b[0m\n\nMemory alarm on node lepus@h\n\n"
              "\x1b[1mMemory\x1b[0m\n\nTotal memory used: 0.1207 gb\n"
              "Calculation strategy: rss\n"
              "Memory high watermark setting: computed to: 10.1105 gb\n\n"
              "\x1b[1mFile Descriptors\x1b[0m\n\nTotal: 4, limit: 927\n\n"
              "\x1b[1mFree Disk Space\x1b[0m\n\nLow free disk space watermark: 0.05 gb\n"
              "Free disk space: 72.6204 gb\n\n"
              "\x1b[1mTotals\x1b[0m\n\nQueue count: 1\n\n"
              "\x1b[1mListeners\x1b[0m\n\n"
              "Interface: 127.0.0.1, port: 5672, protocol: amqp, purpose: AMQP 0-9-1\n");
}

TEST(FormatStatus, ConnectionCountWhenGiven) {
    Json with_connections = answer();
    with_connections["connections"] = 3;
    EXPECT_NE(format_status(with_connections, Formatter::table).find("Connection count: 3\n"),
              std::string::npos);
    Json json = Json::parse(format_status(with_connections, Formatter::json));
    EXPECT_EQ(json["totals"]["connection_count"], 3);
}

TEST(FormatStatus, JsonInRabbitmqctlsShape) {
    Json json = Json::parse(format_status(answer(), Formatter::json));
    EXPECT_EQ(json["pid"], 42);
    EXPECT_EQ(json["product_name"], "Lepus");
    EXPECT_EQ(json["alarms"], Json::array({"memory"}));
    EXPECT_EQ(json["file_descriptors"]["total_used"], 4);
    EXPECT_EQ(json["listeners"][0]["purpose"], "AMQP 0-9-1");
    EXPECT_EQ(json["listeners"][0]["node"], "lepus@h");
    EXPECT_EQ(json["totals"]["queue_count"], 1);
    EXPECT_FALSE(json["totals"].contains("connection_count"));
}

}  // namespace
}  // namespace lepus::ctl
