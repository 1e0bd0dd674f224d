#include "net/management/api_query.h"

#include <gtest/gtest.h>

namespace lepus::management {
namespace {

using nlohmann::json;

TEST(SplitTarget, DecodesSegmentsAndTheQuery) {
    std::vector<std::string> path;
    Query query;
    ASSERT_TRUE(split_target("/api/queues/%2F/a%20b?columns=name,messages&name=x+y", path, query));
    EXPECT_EQ(path, (std::vector<std::string>{"queues", "/", "a b"}));
    EXPECT_EQ(query.at("columns"), "name,messages");
    EXPECT_EQ(query.at("name"), "x y");
}

TEST(SplitTarget, TrailingSlashAddsNoSegmentAndOtherPathsAreRefused) {
    std::vector<std::string> path;
    Query query;
    ASSERT_TRUE(split_target("/api/vhosts/", path, query));
    EXPECT_EQ(path, (std::vector<std::string>{"vhosts"}));
    EXPECT_FALSE(split_target("/index.html", path, query));
    EXPECT_FALSE(split_target("/apix/queues", path, query));
    EXPECT_FALSE(split_target("/api/queues/%2", path, query));
    EXPECT_FALSE(split_target("/api/queues/%zz", path, query));
}

json queues(std::initializer_list<const char*> names) {
    json items = json::array();
    int depth = 0;
    for (const char* name : names) items.push_back(json{{"name", name}, {"messages", depth++}});
    return items;
}

TEST(ShapeList, WithoutParametersTheListIsAsGiven) {
    ListResult result = shape_list(queues({"b", "a"}), {});
    EXPECT_EQ(result.status, 200);
    EXPECT_EQ(result.body, queues({"b", "a"}));
}

TEST(ShapeList, FiltersByNameSubstringCaseInsensitivelyOrByRegex) {
    ListResult plain = shape_list(queues({"Orders", "audit", "orders-dlq"}), {{"name", "ORD"}});
    ASSERT_EQ(plain.body.size(), 2u);
    EXPECT_EQ(plain.body[0]["name"], "Orders");
    ListResult regex = shape_list(queues({"orders", "audit", "orders-dlq"}),
                                  {{"name", "^orders$"}, {"use_regex", "true"}});
    ASSERT_EQ(regex.body.size(), 1u);
    EXPECT_EQ(regex.body[0]["name"], "orders");
    ListResult bad = shape_list(queues({"a"}), {{"name", "("}, {"use_regex", "true"}});
    EXPECT_EQ(bad.status, 400);
}

TEST(ShapeList, SortsByNumbersAndStringsAndReverses) {
    ListResult by_name = shape_list(queues({"c", "a", "b"}), {{"sort", "name"}});
    EXPECT_EQ(by_name.body[0]["name"], "a");
    EXPECT_EQ(by_name.body[2]["name"], "c");
    ListResult by_depth =
        shape_list(queues({"x", "y", "z"}), {{"sort", "messages"}, {"sort_reverse", "true"}});
    EXPECT_EQ(by_depth.body[0]["name"], "z");
}

TEST(ShapeList, PagesAsRabbitMQDoes) {
    ListResult page = shape_list(queues({"a", "b", "c", "d", "e"}),
                                 {{"page", "2"}, {"page_size", "2"}, {"name", ""}});
    ASSERT_EQ(page.status, 200);
    EXPECT_EQ(page.body["filtered_count"], 5);
    EXPECT_EQ(page.body["total_count"], 5);
    EXPECT_EQ(page.body["page"], 2);
    EXPECT_EQ(page.body["page_count"], 3);
    EXPECT_EQ(page.body["page_size"], 2);
    EXPECT_EQ(page.body["item_count"], 2);
    EXPECT_EQ(page.body["items"][0]["name"], "c");
    EXPECT_EQ(shape_list(queues({"a"}), {{"page", "0"}}).status, 400);
    EXPECT_EQ(shape_list(queues({"a"}), {{"page", "3"}}).status, 400);
    EXPECT_EQ(shape_list(queues({"a"}), {{"page", "1"}, {"page_size", "501"}}).status, 400);
    EXPECT_EQ(shape_list(json::array(), {{"page", "1"}}).body["page_count"], 1);
}

TEST(ShapeList, ColumnsKeepDottedKeysOnly) {
    json items = json::array(
        {json{{"name", "q"}, {"messages", 3}, {"message_stats", {{"publish", 7}, {"ack", 2}}}}});
    ListResult result = shape_list(items, {{"columns", "name,message_stats.publish,missing.key"}});
    EXPECT_EQ(result.body[0], (json{{"name", "q"}, {"message_stats", {{"publish", 7}}}}));
}

TEST(BindingPropertiesKey, QuotesTheKeyAsRabbitMQDoes) {
    EXPECT_EQ(binding_properties_key("", json::object()), "~");
    EXPECT_EQ(binding_properties_key("a.#", json::object()), "a.%23");
    EXPECT_EQ(binding_properties_key("a b~c", json::object()), "a%20b%7Ec");
    std::string with_arguments = binding_properties_key("k", json{{"x-match", "all"}});
    EXPECT_EQ(with_arguments.rfind("k~", 0), 0u);
    EXPECT_GT(with_arguments.size(), 2u);
    EXPECT_NE(with_arguments, binding_properties_key("k", json{{"x-match", "any"}}));
}

}  // namespace
}  // namespace lepus::management
