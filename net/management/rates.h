#pragma once
// Message rates as RabbitMQ's management plugin reports them (`publish_details: {rate: 12.5}`):
// the API samples every object's counters every few seconds while anyone uses it, and a rate
// is the difference of an object's last two samples over the time between them. Counts stay
// exact (they are read afresh for every request); only rates lag by a sample, as RabbitMQ's
// do (collect_statistics_interval).
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

#include "core/base/types.h"

namespace lepus::management {

class RateSampler {
public:
    // The sampling interval, RabbitMQ's default collect_statistics_interval.
    static constexpr u64 interval_ms = 5000;
    // Sampling stops when the API has not been asked for this long (nobody watches).
    static constexpr u64 idle_ms = 10 * 60 * 1000;

    // Records `counters` (numbers by name) of `object` as sampled at `now_ms`.
    void record(const std::string& object, u64 now_ms,
                std::unordered_map<std::string, double> counters);
    // Per second, over the last two samples of `object`; 0 until there are two.
    double rate(const std::string& object, const std::string& counter) const;
    // Objects not sampled since `before_ms` (deleted queues, closed channels) are forgotten.
    void forget_unsampled(u64 before_ms);

    // Adds `NAME_details: {rate}` beside each number of `object`'s message_stats, and beside
    // each of `fields` found at its top level; the counters come from the object's samples.
    void add_details(const std::string& object, nlohmann::json& item,
                     std::initializer_list<const char*> fields) const;
    // The counters to record for `item`: its message_stats and `fields`.
    static std::unordered_map<std::string, double> counters_of(
        const nlohmann::json& item, std::initializer_list<const char*> fields);

private:
    struct Sample {
        u64 at_ms = 0;
        std::unordered_map<std::string, double> counters;
    };
    struct History {
        Sample previous;
        Sample last;
    };
    std::unordered_map<std::string, History> objects_;
};

// The keys objects are sampled under.
std::string queue_key(const std::string& vhost, const std::string& name);
std::string exchange_key(const std::string& vhost, const std::string& name);
std::string vhost_key(const std::string& vhost);
std::string channel_key(const std::string& name);
std::string connection_key(const std::string& name);
inline const std::string node_key = "node";

}  // namespace lepus::management
