// A shard's side of the administration endpoint (net/admin): rows from its queues and
// connections for shard 0's endpoint, connections closed by an operator, and shard 0's facts
// for the status command.
#include <dirent.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <ctime>

#include "core/base/log.h"
#include "core/json/field_table_json.h"
#include "net/admin/rows.h"
#include "net/server/environment.h"
#include "net/server/shard.h"

namespace lepus::server {

namespace {

u64 wall_clock_ms() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<u64>(ts.tv_sec) * 1000 + static_cast<u64>(ts.tv_nsec) / 1000000;
}

u64 open_descriptors() {
    u64 count = 0;
    if (DIR* dir = ::opendir("/proc/self/fd")) {
        while (dirent* entry = ::readdir(dir)) {
            if (entry->d_name[0] != '.') count++;
        }
        ::closedir(dir);
        count--;  // the directory's own descriptor
    }
    return count;
}

}  // namespace

nlohmann::json Shard::stats_rows() const {
    std::unordered_map<std::string, core::MessageStats> by_vhost = broker_->retired_stats();
    for (const auto& connection : connections_) {
        if (!connection || connection->state() == Connection::State::closed) continue;
        session::SessionView view = connection->view();
        for (const session::ChannelView& channel : view.channels) {
            if (!channel.released) by_vhost[view.vhost] += channel.stats;
        }
    }
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& [vhost, stats] : by_vhost) {
        rows.push_back(
            {{"kind", "vhost"},
             {"vhost", vhost},
             {"message_stats", admin::message_stats_json(stats, admin::StatsOf::channel)}});
    }
    for (const auto& [vhost, entry] : broker_->catalog().vhosts()) {
        for (const auto& [name, exchange] : entry.exchanges) {
            if (exchange.published_in == 0) continue;
            core::MessageStats stats;
            stats.publish_in = exchange.published_in;
            stats.publish_out = exchange.published_out;
            rows.push_back(
                {{"kind", "exchange"},
                 {"vhost", vhost},
                 {"name", name},
                 {"message_stats", admin::message_stats_json(stats, admin::StatsOf::exchange)}});
        }
    }
    return rows;
}

void Shard::answer_admin_query(const core::AdminQuery& query) {
    nlohmann::json rows = nlohmann::json::array();
    u32 closed = 0;
    switch (query.kind) {
        case core::AdminQueryKind::stats: rows = stats_rows(); break;
        case core::AdminQueryKind::queues:
        case core::AdminQueryKind::consumers:
            broker_->local_queues().for_each([&](const core::Queue& queue) {
                if (query.vhost && queue.vhost() != *query.vhost) return;
                if (query.kind == core::AdminQueryKind::queues) {
                    rows.push_back(admin::queue_row(queue));
                } else {
                    admin::append_consumer_rows(queue, rows);
                }
            });
            break;
        case core::AdminQueryKind::connections:
        case core::AdminQueryKind::channels:
        case core::AdminQueryKind::close_connections: {
            u64 wall_now = wall_clock_ms();
            for (auto& connection : connections_) {
                if (!connection || connection->state() == Connection::State::closed) continue;
                admin::ConnectionFacts facts;
                facts.key = connection->key();
                facts.view = connection->view();
                if (query.vhost && facts.view.vhost != *query.vhost) continue;
                socklen_t length = sizeof facts.peer;
                ::getpeername(connection->fd(), reinterpret_cast<sockaddr*>(&facts.peer), &length);
                length = sizeof facts.local;
                ::getsockname(connection->fd(), reinterpret_cast<sockaddr*>(&facts.local), &length);
                if (query.kind == core::AdminQueryKind::close_connections) {
                    if (query.limit != 0 && closed >= query.limit) break;
                    if (query.name && *query.name != admin::connection_pid(facts.key) &&
                        *query.name != admin::connection_name(facts)) {
                        continue;
                    }
                    if (connection->close_by_operator(query.reason)) closed++;
                    continue;
                }
                facts.tls = connection->tls();
                facts.tls_protocol = connection->tls_protocol();
                facts.tls_cipher = connection->tls_cipher();
                facts.received_bytes = connection->received_bytes();
                facts.sent_bytes = connection->sent_bytes();
                facts.connected_at_ms = wall_now - std::min(wall_now, facts.view.age_ms);
                if (query.kind == core::AdminQueryKind::connections) {
                    rows.push_back(admin::connection_row(facts));
                } else {
                    admin::append_channel_rows(facts, rows);
                }
            }
            break;
        }
    }
    auto answer = std::make_unique<core::AdminAnswer>();
    answer->id = query.id;
    answer->shard = id_;
    answer->rows = json::dump_json(rows);
    answer->count = closed;
    send(ShardId(0), std::move(answer));
}

nlohmann::json Shard::node_status() const {
    nlohmann::json status;
    status["product"] = "Lepus";
    status["version"] = std::string(lepus_version);
    status["os_pid"] = static_cast<u64>(::getpid());
    status["uptime_seconds"] = (wall_clock_ms() - started_wall_ms_) / 1000;
    std::string data_dir = durability_.data_dir;
    status["data_directory"] = data_dir;
    status["config_files"] = options_.config_file.empty()
                                 ? nlohmann::json::array()
                                 : nlohmann::json::array({options_.config_file});
    status["shards"] = grid_.shard_count();
    nlohmann::json listeners = nlohmann::json::array();
    for (const ListenAddress& address : *addresses_) {
        sockaddr_storage storage = address.address;
        listeners.push_back(
            {{"protocol", address.transport == Transport::tls ? "amqp/ssl" : "amqp"},
             {"interface", admin::address_host(storage)},
             {"port", admin::address_port(storage)},
             {"purpose",
              address.transport == Transport::tls ? "AMQP 0-9-1 and TLS" : "AMQP 0-9-1"}});
    }
    if (options_.management.enabled) {
        listeners.push_back({{"protocol", "http"},
                             {"interface", options_.management.host},
                             {"port", options_.management.port},
                             {"purpose", "HTTP API"}});
    }
    status["listeners"] = std::move(listeners);
    nlohmann::json alarms = nlohmann::json::array();
    if (broker_->alarm(core::Resource::memory)) alarms.push_back("memory");
    if (broker_->alarm(core::Resource::disk)) alarms.push_back("disk");
    status["alarms"] = std::move(alarms);
    if (memory_monitor_) {
        status["memory_bytes"] = memory_monitor_->resident_bytes();
        status["memory_limit_bytes"] = memory_monitor_->limit_bytes();
    }
    struct statvfs disk {};
    if (!data_dir.empty() && ::statvfs(data_dir.c_str(), &disk) == 0) {
        status["disk_free_bytes"] = u64{disk.f_bavail} * disk.f_frsize;
    }
    status["disk_free_limit_bytes"] = options_.disk_free_limit_bytes;
    rlimit files{};
    ::getrlimit(RLIMIT_NOFILE, &files);
    status["file_descriptors"] = open_descriptors();
    status["file_descriptor_limit"] = static_cast<u64>(files.rlim_cur);
    status["environment"] = node_environment(options_, data_dir);
    return status;
}

}  // namespace lepus::server
