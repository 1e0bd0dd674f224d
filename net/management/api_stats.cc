// Statistics: the tables of summed message_stats, and the sampling that gives rates.
#include "net/management/api_stats.h"

#include <memory>

#include "net/management/api.h"
#include "net/management/rates.h"

namespace lepus::management {

using nlohmann::json;

void sum_numbers(json& total, const json& add) {
    if (!total.is_object()) total = json::object();
    for (const auto& [name, value] : add.items()) {
        if (!value.is_number()) continue;
        auto it = total.find(name);
        if (it == total.end() || !it->is_number()) {
            total[name] = value;
        } else {
            *it = it->get<u64>() + value.get<u64>();
        }
    }
}

StatsTables stats_tables(const json& rows) {
    StatsTables tables;
    for (const json& row : rows) {
        const std::string vhost = row.value("vhost", std::string());
        if (row.value("kind", std::string()) == "vhost") {
            sum_numbers(tables.vhosts[vhost], row["message_stats"]);
        } else {
            sum_numbers(tables.exchanges[{vhost, row.value("name", std::string())}],
                        row["message_stats"]);
        }
    }
    return tables;
}

void Api::tick(u64 now_ms) {
    now_ms_ = now_ms;
    const bool watched = last_request_ms_ != 0 && now_ms - last_request_ms_ < RateSampler::idle_ms;
    if (!watched || sampling_ || now_ms - last_sample_ms_ < RateSampler::interval_ms) return;
    sample();
}

void Api::sample() {
    sampling_ = true;
    const u64 at = now_ms_;
    // Four questions, one after another: each is a round of messages to every shard.
    endpoint_.submit(json{{"command", "list_queues"}}, [this, at](const json& queues) {
        json totals{{"messages", 0}, {"messages_ready", 0}, {"messages_unacknowledged", 0}};
        for (const json& row : queues.value("rows", json::array())) {
            rates_.record(
                queue_key(row.value("vhost", std::string()), row.value("name", std::string())), at,
                RateSampler::counters_of(
                    row, {"messages", "messages_ready", "messages_unacknowledged"}));
            sum_numbers(totals, json{{"messages", row["messages"]},
                                     {"messages_ready", row["messages_ready"]},
                                     {"messages_unacknowledged", row["messages_unacknowledged"]}});
        }
        endpoint_.submit(json{{"command", "list_channels"}}, [this, at,
                                                              totals](const json& channels) {
            for (const json& row : channels.value("rows", json::array())) {
                rates_.record(channel_key(row.value("name", std::string())), at,
                              RateSampler::counters_of(row, {}));
            }
            endpoint_.submit(json{{"command", "list_connections"}}, [this, at,
                                                                     totals](const json& conns) {
                for (const json& row : conns.value("rows", json::array())) {
                    rates_.record(connection_key(row.value("name", std::string())), at,
                                  RateSampler::counters_of(row, {"recv_oct", "send_oct"}));
                }
                endpoint_.submit(json{{"command", "list_message_stats"}}, [this, at, totals](
                                                                              const json& stats) {
                    StatsTables tables = stats_tables(stats.value("rows", json::array()));
                    json node = totals;
                    json all = json::object();
                    for (const auto& [vhost, message_stats] : tables.vhosts) {
                        rates_.record(
                            vhost_key(vhost), at,
                            RateSampler::counters_of(json{{"message_stats", message_stats}}, {}));
                        sum_numbers(all, message_stats);
                    }
                    node["message_stats"] = all;
                    rates_.record(node_key, at,
                                  RateSampler::counters_of(node, {"messages", "messages_ready",
                                                                  "messages_unacknowledged"}));
                    for (const auto& [key, message_stats] : tables.exchanges) {
                        rates_.record(
                            exchange_key(key.first, key.second), at,
                            RateSampler::counters_of(json{{"message_stats", message_stats}}, {}));
                    }
                    rates_.forget_unsampled(at);
                    last_sample_ms_ = at;
                    sampling_ = false;
                });
            });
        });
    });
}

void Api::with_stats(std::function<void(StatsTables)> then) {
    endpoint_.submit(json{{"command", "list_message_stats"}},
                     [then = std::move(then)](const json& answer) {
                         then(stats_tables(answer.value("rows", json::array())));
                     });
}

}  // namespace lepus::management
