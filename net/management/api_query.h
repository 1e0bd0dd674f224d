#pragma once
// The query parameters RabbitMQ's management lists take, as plain functions of a JSON array:
// `name` (with `use_regex`), `sort` and `sort_reverse`, `page` and `page_size`, `columns`.
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/base/types.h"

namespace lepus::management {

using Query = std::map<std::string, std::string>;

// "/api/queues/%2F/q?columns=name" -> path segments after "/api/" ({"queues", "/", "q"},
// percent-decoded) and the query ("+" is a space there, as in forms). False when the target
// is not under /api/ or is malformed.
bool split_target(const std::string& target, std::vector<std::string>& path, Query& query);

// Decodes %XX (and, when `plus_is_space`, "+"); false on a malformed escape.
bool percent_decode(std::string_view text, bool plus_is_space, std::string& out);

// RabbitMQ's page_size bound.
inline constexpr u64 page_size_max = 500;

struct ListResult {
    u16 status = 200;  // 400 with `error` for a bad parameter
    std::string error;
    nlohmann::json body;
};

// Applies the list parameters to `items` (an array of objects), as RabbitMQ's
// rabbit_mgmt_util:filter_and_paginate and columns do: the paged form is an object with
// filtered_count, item_count, items, page, page_count, page_size and total_count.
ListResult shape_list(nlohmann::json items, const Query& query);

// RabbitMQ's binding "properties key": the routing key quoted as in a URL path ("~" for an
// empty key without arguments), then "~" and a hash of the arguments when there are any.
std::string binding_properties_key(const std::string& routing_key, const nlohmann::json& arguments);

}  // namespace lepus::management
