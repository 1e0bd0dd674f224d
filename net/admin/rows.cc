#include "net/admin/rows.h"

#include <arpa/inet.h>
#include <unistd.h>

#include "core/json/field_table_json.h"

namespace lepus::admin {

const std::string& node_name() {
    static const std::string name = [] {
        char host[256] = {};
        if (::gethostname(host, sizeof host - 1) != 0) return std::string("lepus@localhost");
        std::string short_name(host);
        if (auto dot = short_name.find('.'); dot != std::string::npos) short_name.resize(dot);
        return "lepus@" + (short_name.empty() ? std::string("localhost") : short_name);
    }();
    return name;
}

std::string connection_pid(const core::ConnectionKey& key) {
    return "<" + node_name() + "." + std::to_string(key.shard.value) + "." +
           std::to_string(key.slot) + "." + std::to_string(key.generation) + ">";
}

std::string channel_pid(const core::ConnectionKey& key, u16 channel) {
    std::string pid = connection_pid(key);
    pid.pop_back();
    return pid + "." + std::to_string(channel) + ">";
}

std::string address_host(const sockaddr_storage& address) {
    char text[INET6_ADDRSTRLEN] = {};
    if (address.ss_family == AF_INET) {
        const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
        inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
    } else if (address.ss_family == AF_INET6) {
        const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
        inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
    }
    return text;
}

u16 address_port(const sockaddr_storage& address) {
    if (address.ss_family == AF_INET) {
        return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
    }
    if (address.ss_family == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
    }
    return 0;
}

nlohmann::json message_stats_json(const core::MessageStats& s, StatsOf of) {
    if (of == StatsOf::exchange) {
        return nlohmann::json{{"publish_in", s.publish_in}, {"publish_out", s.publish_out}};
    }
    nlohmann::json out{
        {"deliver", s.deliver},       {"deliver_no_ack", s.deliver_no_ack}, {"get", s.get},
        {"get_no_ack", s.get_no_ack}, {"get_empty", s.get_empty},           {"ack", s.ack},
        {"redeliver", s.redeliver},   {"deliver_get", s.deliver_get()},     {"publish", s.publish}};
    if (of == StatsOf::channel) {
        out["confirm"] = s.confirm;
        out["return_unroutable"] = s.return_unroutable;
        out["drop_unroutable"] = s.drop_unroutable;
    }
    return out;
}

namespace {

// The rest of rabbitmqctl's list_queues items, as 3.10 gives them for a classic queue.
void add_classic_queue_items(const core::Queue& queue, nlohmann::json& row) {
    // Capacity is utilisation, but 0 rather than blank without consumers.
    row["consumer_capacity"] =
        queue.consumer_count() == 0 ? nlohmann::json(0) : row["consumer_utilisation"];
    // Persistent messages in a durable queue are the journaled ones; their size is that of
    // their journal records (properties included), the closest figure the queue keeps.
    u64 persistent = 0;
    u64 persistent_bytes = 0;
    queue.for_each_stored([&](const core::Stored& stored) {
        persistent++;
        persistent_bytes += stored.body.length;
    });
    row["messages_persistent"] = persistent;
    row["message_bytes_persistent"] = persistent_bytes;
    // Paged-out messages keep only an index in memory; delivered ones keep their bodies.
    u64 ready_ram = queue.ready_count() - queue.paged_count();
    row["messages_ready_ram"] = ready_ram;
    row["messages_unacknowledged_ram"] = queue.unsettled_count();
    row["messages_ram"] = ready_ram + queue.unsettled_count();
    row["message_bytes_ram"] = queue.resident_bytes();
    // Journal reads and writes are counted per shard, not per queue.
    row["disk_reads"] = 0;
    row["disk_writes"] = 0;
    row["head_message_timestamp"] = "";
    // Replication items: blank for a classic queue, as in RabbitMQ.
    for (const char* key : {"leader", "members", "online", "slave_pids", "synchronised_slave_pids"})
        row[key] = "";
}

}  // namespace

nlohmann::json limits_json(const access::VhostLimits& limits) {
    nlohmann::json out = nlohmann::json::object();
    if (limits.max_connections) out["max-connections"] = *limits.max_connections;
    if (limits.max_queues) out["max-queues"] = *limits.max_queues;
    return out;
}

nlohmann::json limits_json(const access::UserLimits& limits) {
    nlohmann::json out = nlohmann::json::object();
    if (limits.max_connections) out["max-connections"] = *limits.max_connections;
    if (limits.max_channels) out["max-channels"] = *limits.max_channels;
    return out;
}

nlohmann::json queue_row(const core::Queue& queue) {
    const core::QueueInfo& info = queue.info();
    u64 unacked_bytes = 0;  // not tracked per message once delivered: reported as 0
    u32 ready = queue.ready_count();
    u32 unacked = queue.unsettled_count();
    nlohmann::json row;
    row["name"] = info.name;
    row["vhost"] = queue.vhost();
    row["durable"] = info.durable;
    row["auto_delete"] = info.auto_delete;
    row["exclusive"] = info.exclusive;
    row["arguments"] = json::table_content_to_json(info.arguments);
    row["policy"] = queue.policy().policy;
    row["operator_policy"] = queue.policy().operator_policy;
    row["effective_policy_definition"] =
        nlohmann::json::parse(queue.policy().effective_definition, nullptr, false);
    row["pid"] = "<" + node_name() + "." + std::to_string(info.home.value) + ".queue." +
                 std::to_string(info.id.value) + ">";
    row["owner_pid"] = info.exclusive ? connection_pid(info.owner) : "";
    row["exclusive_consumer_pid"] = "";
    row["exclusive_consumer_tag"] = "";
    for (const core::Queue::Consumer& consumer : queue.consumers()) {
        if (!consumer.exclusive) continue;
        row["exclusive_consumer_pid"] =
            channel_pid(consumer.key.channel.connection, consumer.key.channel.channel);
        row["exclusive_consumer_tag"] = consumer.tag;
    }
    row["messages_ready"] = ready;
    row["messages_unacknowledged"] = unacked;
    row["messages"] = u64{ready} + unacked;
    row["message_bytes_ready"] = queue.ready_bytes();
    row["message_bytes_unacknowledged"] = unacked_bytes;
    row["message_bytes"] = queue.ready_bytes() + unacked_bytes;
    row["consumers"] = queue.consumer_count();
    // RabbitMQ's consumer utilisation is the share of time the queue could deliver at once;
    // here consumers take what is ready as it comes, so an idle queue with consumers is at 1.
    if (queue.consumer_count() == 0) {
        row["consumer_utilisation"] = "";
    } else {
        row["consumer_utilisation"] = ready == 0 ? 1.0 : 0.0;
    }
    row["memory"] = queue.resident_bytes();
    row["state"] = "running";
    row["type"] = "classic";
    row["message_stats"] = message_stats_json(queue.stats(), StatsOf::queue);
    add_classic_queue_items(queue, row);
    return row;
}

void append_consumer_rows(const core::Queue& queue, nlohmann::json& rows) {
    for (const core::Queue::Consumer& consumer : queue.consumers()) {
        nlohmann::json row;
        row["queue_name"] = queue.info().name;
        row["vhost"] = queue.vhost();
        row["channel_pid"] =
            channel_pid(consumer.key.channel.connection, consumer.key.channel.channel);
        row["consumer_tag"] = consumer.tag;
        row["ack_required"] = !consumer.no_ack;
        row["exclusive"] = consumer.exclusive;
        row["prefetch_count"] = consumer.prefetch;
        row["active"] = true;
        row["activity_status"] = "up";
        nlohmann::json arguments = nlohmann::json::object();
        if (consumer.priority != 0) arguments["x-priority"] = consumer.priority;
        row["arguments"] = std::move(arguments);
        rows.push_back(std::move(row));
    }
}

namespace {

std::string host_and_port(const sockaddr_storage& address) {
    return address_host(address) + ":" + std::to_string(address_port(address));
}

}  // namespace

std::string connection_name(const ConnectionFacts& facts) {
    return host_and_port(facts.peer) + " -> " + host_and_port(facts.local);
}

nlohmann::json connection_row(const ConnectionFacts& facts) {
    const session::SessionView& v = facts.view;
    nlohmann::json row;
    row["pid"] = connection_pid(facts.key);
    row["name"] = connection_name(facts);
    row["port"] = address_port(facts.local);
    row["host"] = address_host(facts.local);
    row["peer_port"] = address_port(facts.peer);
    row["peer_host"] = address_host(facts.peer);
    row["ssl"] = facts.tls;
    row["ssl_protocol"] = facts.tls_protocol;
    row["ssl_cipher"] = facts.tls_cipher;
    row["ssl_key_exchange"] = "";
    row["ssl_hash"] = "";
    row["peer_cert_subject"] = "";
    row["peer_cert_issuer"] = "";
    row["peer_cert_validity"] = "";
    row["user"] = v.user;
    row["user_who_performed_action"] = v.user;
    row["vhost"] = v.vhost;
    row["channels"] = v.channels.size();
    row["state"] = v.state;
    row["protocol"] = "AMQP 0-9-1";
    row["auth_mechanism"] = v.auth_mechanism;
    row["timeout"] = v.heartbeat_s;
    row["frame_max"] = v.frame_max;
    row["channel_max"] = v.channel_max;
    row["client_properties"] = json::table_content_to_json(v.client_properties);
    row["connected_at"] = facts.connected_at_ms;
    row["recv_oct"] = facts.received_bytes;
    row["send_oct"] = facts.sent_bytes;
    row["type"] = "network";
    return row;
}

void append_channel_rows(const ConnectionFacts& facts, nlohmann::json& rows) {
    std::string connection = connection_pid(facts.key);
    std::string name = connection_name(facts);
    for (const session::ChannelView& channel : facts.view.channels) {
        nlohmann::json row;
        row["pid"] = channel_pid(facts.key, channel.number);
        row["connection"] = connection;
        row["name"] = name + " (" + std::to_string(channel.number) + ")";
        row["number"] = channel.number;
        row["user"] = facts.view.user;
        row["vhost"] = facts.view.vhost;
        row["transactional"] = channel.transactional;
        row["confirm"] = channel.confirm;
        row["consumer_count"] = channel.consumer_count;
        row["messages_unacknowledged"] = channel.messages_unacknowledged;
        row["messages_uncommitted"] = channel.messages_uncommitted;
        row["acks_uncommitted"] = channel.acks_uncommitted;
        row["messages_unconfirmed"] = channel.messages_unconfirmed;
        row["prefetch_count"] = channel.prefetch_count;
        row["global_prefetch_count"] = channel.global_prefetch_count;
        row["message_stats"] = message_stats_json(channel.stats, StatsOf::channel);
        row["state"] = "running";
        rows.push_back(std::move(row));
    }
}

}  // namespace lepus::admin
