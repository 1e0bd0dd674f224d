#include "app/ctl/admin_status.h"

namespace lepus::ctl {

namespace {

std::string section(std::string_view title) {
    return "\x1b[1m" + std::string(title) + "\x1b[0m\n\n";
}

std::string text_of(const Json& answer, const char* key) {
    auto found = answer.find(key);
    if (found == answer.end() || found->is_null()) return "";
    return table_cell("", *found);
}

double number_of(const Json& answer, const char* key) {
    auto found = answer.find(key);
    return found != answer.end() && found->is_number() ? found->get<double>() : 0.0;
}

// rabbitmqctl names a listener's purpose after its protocol.
std::string purpose(const std::string& protocol) {
    if (protocol == "amqp") return "AMQP 0-9-1";
    if (protocol == "amqp/ssl") return "AMQP 0-9-1 over TLS";
    if (protocol == "http") return "HTTP API";
    return protocol;
}

std::string status_table(const Json& answer) {
    std::string node = text_of(answer, "node");
    std::string text = section("Runtime");
    text += "OS PID: " + text_of(answer, "os_pid") + "\n";
    text += "OS: Linux\n";
    text += "Uptime (seconds): " + text_of(answer, "uptime_seconds") + "\n";
    text += text_of(answer, "product") + " version: " + text_of(answer, "version") + "\n";
    text += "Node name: " + node + "\n";
    text += "Shards: " + text_of(answer, "shards") + "\n";
    text += "\n" + section("Data directory");
    text += "Node data directory: " + text_of(answer, "data_directory") + "\n";
    text += "\n" + section("Config files");
    for (const Json& file : answer.value("config_files", Json::array())) {
        text += " * " + table_cell("", file) + "\n";
    }
    text += "\n" + section("Alarms");
    const Json alarms = answer.value("alarms", Json::array());
    if (alarms.empty()) text += "(none)\n";
    for (const Json& alarm : alarms) text += alarm_line(table_cell("", alarm), node) + "\n";
    text += "\n" + section("Memory");
    text += "Total memory used: " + gigabytes(number_of(answer, "memory_bytes")) + "\n";
    text += "Calculation strategy: rss\n";
    text += "Memory high watermark setting: computed to: " +
            gigabytes(number_of(answer, "memory_limit_bytes")) + "\n";
    text += "\n" + section("File Descriptors");
    text += "Total: " + text_of(answer, "file_descriptors") +
            ", limit: " + text_of(answer, "file_descriptor_limit") + "\n";
    text += "\n" + section("Free Disk Space");
    text +=
        "Low free disk space watermark: " + gigabytes(number_of(answer, "disk_free_limit_bytes")) +
        "\n";
    text += "Free disk space: " + gigabytes(number_of(answer, "disk_free_bytes")) + "\n";
    text += "\n" + section("Totals");
    // Counts lepusd may leave out (connections live on every shard) print only when given.
    if (answer.contains("connections")) {
        text += "Connection count: " + text_of(answer, "connections") + "\n";
    }
    text += "Queue count: " + text_of(answer, "queues") + "\n";
    text += "\n" + section("Listeners");
    for (const Json& listener : answer.value("listeners", Json::array())) {
        text += listener_line(listener) + "\n";
    }
    return text;
}

Json status_json(const Json& answer) {
    std::string node = text_of(answer, "node");
    Json object;  // keys in sorted order, as rabbitmqctl prints its map
    Json listeners = Json::array();
    for (const Json& listener : answer.value("listeners", Json::array())) {
        listeners.push_back(listener_json(listener, node));
    }
    object["alarms"] = answer.value("alarms", Json::array());
    object["config_files"] = answer.value("config_files", Json::array());
    object["data_directory"] = answer.value("data_directory", Json());
    object["disk_free"] = answer.value("disk_free_bytes", Json());
    object["disk_free_limit"] = answer.value("disk_free_limit_bytes", Json());
    object["file_descriptors"] = {{"total_limit", answer.value("file_descriptor_limit", Json())},
                                  {"total_used", answer.value("file_descriptors", Json())}};
    object["listeners"] = listeners;
    object["memory"] = {{"strategy", "rss"},
                        {"total", {{"rss", answer.value("memory_bytes", Json())}}}};
    object["node"] = node;
    object["os"] = "Linux";
    object["pid"] = answer.value("os_pid", Json());
    object["product_name"] = answer.value("product", Json());
    object["product_version"] = answer.value("version", Json());
    object["shards"] = answer.value("shards", Json());
    object["totals"] = Json::object();
    if (answer.contains("connections")) {
        object["totals"]["connection_count"] = answer["connections"];
    }
    object["totals"]["queue_count"] = answer.value("queues", Json());
    object["uptime"] = answer.value("uptime_seconds", Json());
    object["vm_memory_high_watermark_limit"] = answer.value("memory_limit_bytes", Json());
    return object;
}

}  // namespace

std::string listener_line(const Json& listener) {
    std::string protocol = text_of(listener, "protocol");
    return "Interface: " + text_of(listener, "interface") + ", port: " + text_of(listener, "port") +
           ", protocol: " + protocol + ", purpose: " + purpose(protocol);
}

Json listener_json(const Json& listener, const std::string& node) {
    std::string protocol = text_of(listener, "protocol");
    return {{"interface", listener.value("interface", Json())},
            {"node", node},
            {"port", listener.value("port", Json())},
            {"protocol", protocol},
            {"purpose", purpose(protocol)}};
}

std::string alarm_line(const std::string& alarm, const std::string& node) {
    if (alarm == "memory") return "Memory alarm on node " + node;
    if (alarm == "disk") return "Free disk space alarm on node " + node;
    return alarm;
}

std::string format_status(const Json& answer, Formatter formatter) {
    if (formatter == Formatter::json) return status_json(answer).dump() + "\n";
    return status_table(answer);
}

}  // namespace lepus::ctl
