#include "app/ctl/table_format.h"

#include <gtest/gtest.h>

namespace lepus::ctl {
namespace {

TEST(TableCell, ValuesAsRabbitmqctlPrintsThem) {
    EXPECT_EQ(table_cell("name", Json("q1")), "q1");
    EXPECT_EQ(table_cell("durable", Json(true)), "true");
    EXPECT_EQ(table_cell("auto_delete", Json(false)), "false");
    EXPECT_EQ(table_cell("messages", Json(3)), "3");
    EXPECT_EQ(table_cell("consumer_utilisation", Json(0.0)), "0");
    EXPECT_EQ(table_cell("consumer_utilisation", Json(0.5)), "0.5");
    EXPECT_EQ(table_cell("owner_pid", Json(nullptr)), "");
    EXPECT_EQ(table_cell("protocol", Json("AMQP 0-9-1")), "{0,9,1}");
    EXPECT_EQ(table_cell("tags", Json::array()), "[]");
    EXPECT_EQ(table_cell("tags", Json::array({"administrator", "monitoring"})),
              "[administrator, monitoring]");
}

TEST(TableCell, FieldTablesAsErlangProplists) {
    EXPECT_EQ(table_cell("arguments", Json::object()), "[]");
    Json arguments = Json::parse(R"({"x-max-length": 10, "x-message-ttl": 5000})");
    EXPECT_EQ(table_cell("arguments", arguments),
              R"([{"x-max-length",10},{"x-message-ttl",5000}])");
    Json headers = Json::parse(R"({"k": "v", "x-match": "all"})");
    EXPECT_EQ(table_cell("arguments", headers), R"([{"k","v"},{"x-match","all"}])");
    Json properties = Json::parse(
        R"({"product": "Pika", "capabilities": {"basic.nack": true, "publisher_confirms": true}})");
    EXPECT_EQ(
        table_cell("client_properties", properties),
        R"([{"product","Pika"},{"capabilities",[{"basic.nack",true},{"publisher_confirms",true}]}])");
}

TEST(TableCell, ClusterStateAndLimits) {
    EXPECT_EQ(table_cell("cluster_state", Json::parse(R"({"lepus@h": "running"})")),
              "[{lepus@h, running}]");
    EXPECT_EQ(table_cell("limits", Json::parse(R"({"max-connections": 10, "max-queues": 5})")),
              R"({"max-connections":10,"max-queues":5})");
}

TEST(JsonCell, FieldTablesAsTypedTriples) {
    Json arguments = Json::parse(
        R"({"x-max-length": 10, "alternate-exchange": "amq.fanout", "big": 5000000000,
            "flag": true, "ratio": 0.5})");
    EXPECT_EQ(json_cell("arguments", arguments).dump(),
              R"([["x-max-length","signedint",10],["alternate-exchange","longstr","amq.fanout"],)"
              R"(["big","long",5000000000],["flag","bool",true],["ratio","double",0.5]])");
    EXPECT_EQ(json_cell("arguments", Json::object()).dump(), "[]");
    EXPECT_EQ(json_cell("limits", Json::parse(R"({"max-connections": 10})")).dump(),
              R"("{\"max-connections\":10}")");
    EXPECT_EQ(json_cell("tags", Json::array({"a"})).dump(), R"(["a"])");
}

TEST(FormatTable, HeaderRowsAndEmptyListings) {
    Json rows = Json::parse(R"([{"user": "guest", "tags": ["administrator"]},
                                {"user": "bob", "tags": []}])");
    std::vector<std::string> columns = {"user", "tags"};
    EXPECT_EQ(format_table(columns, rows, Headers::show, EmptyListing::empty_line),
              "user\ttags\nguest\t[administrator]\nbob\t[]\n");
    EXPECT_EQ(format_table(columns, rows, Headers::omit, EmptyListing::empty_line),
              "guest\t[administrator]\nbob\t[]\n");
    EXPECT_EQ(format_table(columns, Json::array(), Headers::show, EmptyListing::empty_line), "\n");
    EXPECT_EQ(format_table(columns, Json::array(), Headers::show, EmptyListing::nothing), "");
}

TEST(FormatJsonRows, RabbitmqctlsLayout) {
    Json rows = Json::parse(R"([{"user": "bob", "tags": ["management"], "extra": 1},
                                {"user": "guest", "tags": ["administrator"]}])");
    EXPECT_EQ(format_json_rows({"user", "tags"}, rows, EmptyListing::empty_line),
              "[\n{\"user\":\"bob\",\"tags\":[\"management\"]}\n"
              ",{\"user\":\"guest\",\"tags\":[\"administrator\"]}\n]\n");
    EXPECT_EQ(format_json_rows({"name"}, Json::array(), EmptyListing::nothing), "[\n]\n");
    EXPECT_EQ(format_json_rows({"user"}, Json::array(), EmptyListing::empty_line), "[]\n");
}

TEST(Gigabytes, FourDecimalsAtMost) {
    EXPECT_EQ(gigabytes(120'700'000), "0.1207 gb");
    EXPECT_EQ(gigabytes(50'000'000), "0.05 gb");
    EXPECT_EQ(gigabytes(0), "0.0 gb");
    EXPECT_EQ(gigabytes(72'620'400'000.0), "72.6204 gb");
}

}  // namespace
}  // namespace lepus::ctl
