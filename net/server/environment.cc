#include "net/server/environment.h"

#include "net/server/memory_monitor.h"

namespace lepus::server {

namespace {

// RabbitMQ's {Interface, Port} pairs of tcp_listeners and ssl_listeners.
nlohmann::json listener_pairs(const Options& options, Transport transport) {
    nlohmann::json pairs = nlohmann::json::array();
    for (const ListenerSpec& listener : options.listeners()) {
        if (listener.transport == transport) pairs.push_back({listener.host, listener.port});
    }
    return pairs;
}

nlohmann::json log_settings(const Options& options) {
    const OperationsOptions& operations = options.operations;
    auto level = [&](const std::string& own) { return own.empty() ? options.log_level : own; };
    nlohmann::json log;
    log["console"] = {{"enabled", operations.log_console.value_or(operations.log_file.empty())},
                      {"level", level(operations.log_console_level)}};
    if (!operations.log_file.empty()) {
        log["file"] = {{"file", operations.log_file}, {"level", level(operations.log_file_level)}};
    }
    return log;
}

}  // namespace

nlohmann::json node_environment(const Options& options, const std::string& data_dir) {
    nlohmann::json rabbit;
    rabbit["auth_mechanisms"] = options.auth_mechanisms.empty()
                                    ? nlohmann::json::array({"PLAIN", "AMQPLAIN"})
                                    : nlohmann::json(options.auth_mechanisms);
    rabbit["channel_max"] = options.channel_max;
    rabbit["default_user"] = options.default_user;
    rabbit["default_user_tags"] = options.default_user_tags;
    rabbit["default_vhost"] = options.vhosts.empty() ? "/" : options.vhosts.front();
    rabbit["disk_free_limit"] = options.disk_free_limit_bytes;
    rabbit["frame_max"] = options.frame_max;
    rabbit["handshake_timeout"] = options.handshake_timeout_ms;
    rabbit["heartbeat"] = options.heartbeat_s;
    rabbit["load_definitions"] = options.operations.load_definitions.empty()
                                     ? nlohmann::json()
                                     : nlohmann::json(options.operations.load_definitions);
    rabbit["log"] = log_settings(options);
    rabbit["loopback_users"] =
        options.loopback_users_only ? options.loopback_users : std::vector<std::string>{};
    rabbit["ssl_listeners"] = listener_pairs(options, Transport::tls);
    rabbit["tcp_listen_options"] = {{"recbuf", options.tcp_recbuf}, {"sndbuf", options.tcp_sndbuf}};
    rabbit["tcp_listeners"] = listener_pairs(options, Transport::tcp);
    if (options.memory_limit_mb > 0) {
        rabbit["vm_memory_high_watermark"] = {{"absolute", memory_limit_bytes(options)}};
    } else {
        rabbit["vm_memory_high_watermark"] = options.memory_high_watermark;
    }
    nlohmann::json lepus;
    lepus["busy_poll_us"] = options.busy_poll_us;
    lepus["config_file"] = options.config_file;
    lepus["data_dir"] = data_dir;
    lepus["journal_flush_ms"] = options.journal_flush_ms;
    lepus["journal_segment_mb"] = options.journal_segment_mb;
    lepus["queue_memory_mb"] = options.queue_memory_mb;
    lepus["send_timeout_ms"] = options.send_timeout_ms;
    lepus["shards"] = options.shards;
    nlohmann::json environment;
    environment["lepus"] = std::move(lepus);
    environment["rabbit"] = std::move(rabbit);
    return environment;
}

}  // namespace lepus::server
