#pragma once
// The shards' message_stats rows (the endpoint's list_message_stats) summed by vhost and by
// exchange.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace lepus::management {

struct StatsTables {
    std::map<std::string, nlohmann::json> vhosts;  // vhost -> message_stats
    std::map<std::pair<std::string, std::string>, nlohmann::json> exchanges;
};

StatsTables stats_tables(const nlohmann::json& rows);
// Adds every number of `add` to the same key of `total` (an object).
void sum_numbers(nlohmann::json& total, const nlohmann::json& add);

}  // namespace lepus::management
