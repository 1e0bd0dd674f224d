#include "net/management/api_query.h"

#include <algorithm>
#include <charconv>
#include <regex>

#include "core/access/base64.h"
#include "core/json/field_table_json.h"

namespace lepus::management {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool parse_u64(const std::string& text, u64& out) {
    const char* end = text.data() + text.size();
    auto [stop, error] = std::from_chars(text.data(), end, out);
    return error == std::errc{} && stop == end && !text.empty();
}

// A dotted column ("message_stats.publish") copied from `from` into `to`, when present.
void copy_column(const nlohmann::json& from, nlohmann::json& to, std::string_view column) {
    usize dot = column.find('.');
    std::string head(column.substr(0, dot));
    auto it = from.find(head);
    if (it == from.end()) return;
    if (dot == std::string_view::npos) {
        to[head] = *it;
        return;
    }
    if (!it->is_object()) return;
    nlohmann::json& inner = to[head];
    if (!inner.is_object()) inner = nlohmann::json::object();
    copy_column(*it, inner, column.substr(dot + 1));
    if (inner.empty()) to.erase(head);
}

const nlohmann::json* dotted(const nlohmann::json& item, const std::string& key) {
    const nlohmann::json* at = &item;
    usize start = 0;
    while (true) {
        usize dot = key.find('.', start);
        std::string part = key.substr(start, dot == std::string::npos ? dot : dot - start);
        if (!at->is_object()) return nullptr;
        auto it = at->find(part);
        if (it == at->end()) return nullptr;
        at = &*it;
        if (dot == std::string::npos) return at;
        start = dot + 1;
    }
}

// Orders JSON values of one key: numbers by value, strings by text, missing values first.
bool value_less(const nlohmann::json* a, const nlohmann::json* b) {
    if (a == nullptr || b == nullptr) return a == nullptr && b != nullptr;
    if (a->is_number() && b->is_number()) return a->get<double>() < b->get<double>();
    if (a->is_string() && b->is_string()) return a->get<std::string>() < b->get<std::string>();
    return a->type() < b->type();
}

}  // namespace

bool percent_decode(std::string_view text, bool plus_is_space, std::string& out) {
    out.clear();
    for (usize i = 0; i < text.size(); i++) {
        char c = text[i];
        if (c == '%') {
            if (i + 2 >= text.size()) return false;
            int high = hex_value(text[i + 1]);
            int low = hex_value(text[i + 2]);
            if (high < 0 || low < 0) return false;
            out.push_back(static_cast<char>(high * 16 + low));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return true;
}

bool split_target(const std::string& target, std::vector<std::string>& path, Query& query) {
    path.clear();
    query.clear();
    usize question = target.find('?');
    std::string_view raw_path = std::string_view(target).substr(0, question);
    constexpr std::string_view prefix = "/api";
    if (!raw_path.starts_with(prefix)) return false;
    raw_path.remove_prefix(prefix.size());
    if (!raw_path.empty() && raw_path.front() != '/') return false;
    while (!raw_path.empty()) {
        raw_path.remove_prefix(1);  // the '/'
        usize slash = raw_path.find('/');
        std::string segment;
        if (!percent_decode(raw_path.substr(0, slash), false, segment)) return false;
        // A trailing slash adds no segment.
        if (!(slash == std::string_view::npos && segment.empty())) path.push_back(segment);
        if (slash == std::string_view::npos) break;
        raw_path.remove_prefix(slash);
    }
    if (question == std::string::npos) return true;
    std::string_view rest = std::string_view(target).substr(question + 1);
    while (!rest.empty()) {
        usize amp = rest.find('&');
        std::string_view pair = rest.substr(0, amp);
        usize equals = pair.find('=');
        std::string key;
        std::string value;
        if (!percent_decode(pair.substr(0, equals), true, key)) return false;
        if (equals != std::string_view::npos &&
            !percent_decode(pair.substr(equals + 1), true, value)) {
            return false;
        }
        if (!key.empty()) query[key] = value;
        if (amp == std::string_view::npos) break;
        rest.remove_prefix(amp + 1);
    }
    return true;
}

ListResult shape_list(nlohmann::json items, const Query& query) {
    ListResult result;
    if (!items.is_array()) items = nlohmann::json::array();
    const usize total = items.size();
    // Name filter: a substring, or a regular expression with use_regex=true.
    if (auto it = query.find("name"); it != query.end() && !it->second.empty()) {
        bool regex = query.count("use_regex") && query.at("use_regex") == "true";
        std::optional<std::regex> pattern;
        if (regex) {
            try {
                pattern.emplace(it->second, std::regex::ECMAScript | std::regex::icase);
            } catch (const std::regex_error&) {
                result.status = 400;
                result.error = "invalid regular expression: " + it->second;
                return result;
            }
        }
        nlohmann::json kept = nlohmann::json::array();
        for (auto& item : items) {
            std::string name = item.value("name", std::string());
            bool match = false;
            if (pattern) {
                match = std::regex_search(name, *pattern);
            } else {
                std::string lower_name = name;
                std::string needle = it->second;
                for (char& c : lower_name) c = static_cast<char>(std::tolower(c));
                for (char& c : needle) c = static_cast<char>(std::tolower(c));
                match = lower_name.find(needle) != std::string::npos;
            }
            if (match) kept.push_back(std::move(item));
        }
        items = std::move(kept);
    }
    if (auto it = query.find("sort"); it != query.end() && !it->second.empty()) {
        const std::string key = it->second;
        std::stable_sort(items.begin(), items.end(),
                         [&key](const nlohmann::json& a, const nlohmann::json& b) {
                             return value_less(dotted(a, key), dotted(b, key));
                         });
    }
    if (query.count("sort_reverse") && query.at("sort_reverse") == "true") {
        std::reverse(items.begin(), items.end());
    }
    if (auto it = query.find("columns"); it != query.end() && !it->second.empty()) {
        std::vector<std::string> columns;
        std::string_view list = it->second;
        while (!list.empty()) {
            usize comma = list.find(',');
            if (comma != 0) columns.emplace_back(list.substr(0, comma));
            if (comma == std::string_view::npos) break;
            list.remove_prefix(comma + 1);
        }
        for (auto& item : items) {
            nlohmann::json cut = nlohmann::json::object();
            for (const std::string& column : columns) copy_column(item, cut, column);
            item = std::move(cut);
        }
    }
    auto page_it = query.find("page");
    if (page_it == query.end()) {
        result.body = std::move(items);
        return result;
    }
    u64 page = 0;
    u64 page_size = 100;
    if (!parse_u64(page_it->second, page) || page == 0) {
        result.status = 400;
        result.error = "page must be a positive integer";
        return result;
    }
    if (auto it = query.find("page_size"); it != query.end()) {
        if (!parse_u64(it->second, page_size) || page_size == 0) {
            result.status = 400;
            result.error = "page_size must be a positive integer";
            return result;
        }
        if (page_size > page_size_max) {
            result.status = 400;
            result.error =
                "page_size must be less than or equal to " + std::to_string(page_size_max);
            return result;
        }
    }
    const u64 filtered = items.size();
    const u64 page_count = filtered == 0 ? 1 : (filtered + page_size - 1) / page_size;
    if (page > page_count) {
        result.status = 400;
        result.error = "page out of range";
        return result;
    }
    nlohmann::json slice = nlohmann::json::array();
    for (u64 i = (page - 1) * page_size; i < std::min(filtered, page * page_size); i++) {
        slice.push_back(std::move(items[i]));
    }
    result.body = nlohmann::json{{"filtered_count", filtered}, {"item_count", slice.size()},
                                 {"items", std::move(slice)},  {"page", page},
                                 {"page_count", page_count},   {"page_size", page_size},
                                 {"total_count", total}};
    return result;
}

std::string binding_properties_key(const std::string& routing_key,
                                   const nlohmann::json& arguments) {
    const bool no_arguments = !arguments.is_object() || arguments.empty();
    if (routing_key.empty() && no_arguments) return "~";
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string key;
    for (unsigned char c : routing_key) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
            key.push_back(static_cast<char>(c));
        } else {
            key.push_back('%');
            key.push_back(hex[c >> 4]);
            key.push_back(hex[c & 15]);
        }
    }
    if (no_arguments) return key;
    // RabbitMQ hashes the Erlang term of the arguments; any stable hash of them serves, since
    // clients only hand the key back.
    u32 hash = 2166136261u;
    for (unsigned char c : json::dump_json(arguments)) hash = (hash ^ c) * 16777619u;
    const u8 bytes[4] = {static_cast<u8>(hash >> 24), static_cast<u8>(hash >> 16),
                         static_cast<u8>(hash >> 8), static_cast<u8>(hash)};
    std::string encoded = access::base64_encode(bytes);
    for (char& c : encoded) {
        if (c == '+') c = '-';
        if (c == '/') c = '_';
    }
    while (!encoded.empty() && encoded.back() == '=') encoded.pop_back();
    return key + "~" + encoded;
}

}  // namespace lepus::management
