#include "net/management/rates.h"

namespace lepus::management {

void RateSampler::record(const std::string& object, u64 now_ms,
                         std::unordered_map<std::string, double> counters) {
    History& history = objects_[object];
    history.previous = std::move(history.last);
    history.last = Sample{now_ms, std::move(counters)};
}

double RateSampler::rate(const std::string& object, const std::string& counter) const {
    auto it = objects_.find(object);
    if (it == objects_.end()) return 0.0;
    const History& history = it->second;
    if (history.previous.at_ms == 0 || history.last.at_ms <= history.previous.at_ms) return 0.0;
    auto now = history.last.counters.find(counter);
    auto before = history.previous.counters.find(counter);
    if (now == history.last.counters.end() || before == history.previous.counters.end()) {
        return 0.0;
    }
    const double seconds = static_cast<double>(history.last.at_ms - history.previous.at_ms) / 1000;
    return (now->second - before->second) / seconds;
}

void RateSampler::forget_unsampled(u64 before_ms) {
    for (auto it = objects_.begin(); it != objects_.end();) {
        if (it->second.last.at_ms < before_ms) {
            it = objects_.erase(it);
        } else {
            ++it;
        }
    }
}

std::unordered_map<std::string, double> RateSampler::counters_of(
    const nlohmann::json& item, std::initializer_list<const char*> fields) {
    std::unordered_map<std::string, double> counters;
    if (auto stats = item.find("message_stats"); stats != item.end() && stats->is_object()) {
        for (const auto& [name, value] : stats->items()) {
            if (value.is_number()) counters["message_stats." + name] = value.get<double>();
        }
    }
    for (const char* field : fields) {
        if (auto it = item.find(field); it != item.end() && it->is_number()) {
            counters[field] = it->get<double>();
        }
    }
    return counters;
}

void RateSampler::add_details(const std::string& object, nlohmann::json& item,
                              std::initializer_list<const char*> fields) const {
    if (auto stats = item.find("message_stats"); stats != item.end() && stats->is_object()) {
        nlohmann::json details = nlohmann::json::object();
        for (const auto& [name, value] : stats->items()) {
            if (!value.is_number()) continue;
            details[name + "_details"] = {{"rate", rate(object, "message_stats." + name)}};
        }
        for (auto& [name, value] : details.items()) (*stats)[name] = value;
    }
    for (const char* field : fields) {
        if (item.contains(field) && item[field].is_number()) {
            item[std::string(field) + "_details"] = {{"rate", rate(object, field)}};
        }
    }
}

std::string queue_key(const std::string& vhost, const std::string& name) {
    return std::string("queue\n") + vhost + "\n" + name;
}

std::string exchange_key(const std::string& vhost, const std::string& name) {
    return std::string("exchange\n") + vhost + "\n" + name;
}

std::string vhost_key(const std::string& vhost) { return "vhost\n" + vhost; }

std::string channel_key(const std::string& name) { return "channel\n" + name; }

std::string connection_key(const std::string& name) { return "connection\n" + name; }

}  // namespace lepus::management
