#include "net/server/options.h"

#include <arpa/inet.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "net/server/memory_monitor.h"

namespace lepus::server {
namespace {

// Each setter checks one value and stores it; on failure it writes why into `why`, phrased to
// follow "<flag>: " or "<file>:<line>: <key>: ".
using Setter = bool (*)(std::string_view value, Options& out, std::string& why);

std::string in_quotes(std::string_view text) {
    std::string result = "'";
    result.append(text);
    result += '\'';
    return result;
}

std::string_view trim(std::string_view text) {
    constexpr std::string_view blanks = " \t\r\n\v\f";
    const usize first = text.find_first_not_of(blanks);
    if (first == std::string_view::npos) return {};
    const usize last = text.find_last_not_of(blanks);
    return text.substr(first, last - first + 1);
}

// Decimal digits only: no sign, no spaces, no hex, no suffix. A port of "-1" or a frame size of
// "128k" is a mistake to report, not a value to guess at.
bool parse_u32(std::string_view text, u32 min, u32 max, u32& out, std::string& why) {
    u64 value = 0;
    const char* end = text.data() + text.size();
    const auto [stop, code] = std::from_chars(text.data(), end, value);
    const bool digits_only = !text.empty() && text.find_first_not_of("0123456789") == text.npos;
    if (!digits_only || (code != std::errc{} && code != std::errc::result_out_of_range) ||
        stop != end) {
        why = in_quotes(text) + " is not a whole number";
        return false;
    }
    if (code == std::errc::result_out_of_range || value > max) {
        why = in_quotes(text) + " is above the maximum " + std::to_string(max);
        return false;
    }
    if (value < min) {
        why = in_quotes(text) + " is below the minimum " + std::to_string(min);
        return false;
    }
    out = static_cast<u32>(value);
    return true;
}

bool is_ip_literal(const std::string& host, int family) {
    std::array<unsigned char, sizeof(in6_addr)> address{};
    return inet_pton(family, host.c_str(), address.data()) == 1;
}

// A host name as DNS spells one: labels of letters, digits and hyphens, separated by dots.
bool is_host_name(std::string_view host) {
    if (host.empty() || host.size() > 253) return false;
    usize label = 0;
    for (char c : host) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok || ++label > 63) return false;
    }
    return label > 0;
}

enum class PortAlone : u8 { refused, every_interface };

// HOST:PORT, as RabbitMQ's listeners take it: an IPv4 literal or a host name, an IPv6 literal
// in brackets ([::1]:5672) or without (:::5672, the part before the last colon), and for
// listeners.* a port alone (every interface: "::", which takes IPv4 too).
bool parse_address(std::string_view value, PortAlone port_alone, std::string& host, u16& port,
                   std::string& why) {
    why = "expected HOST:PORT, as 127.0.0.1:5672 or [::1]:5672, got " + in_quotes(value);
    std::string_view port_text;
    if (value.starts_with('[')) {
        const usize close = value.find(']');
        if (close == value.npos || close + 1 >= value.size() || value[close + 1] != ':') {
            return false;
        }
        host = std::string(value.substr(1, close - 1));
        port_text = value.substr(close + 2);
        if (!is_ip_literal(host, AF_INET6)) {
            why = in_quotes(host) + " is not an IPv6 address";
            return false;
        }
    } else if (port_alone == PortAlone::every_interface && !value.empty() &&
               value.find_first_not_of("0123456789") == value.npos) {
        host = "::";
        port_text = value;
    } else {
        const usize colon = value.rfind(':');
        if (colon == value.npos) return false;
        host = std::string(value.substr(0, colon));
        port_text = value.substr(colon + 1);
        bool ok = host.find(':') != host.npos ? is_ip_literal(host, AF_INET6)
                                              : is_ip_literal(host, AF_INET) || is_host_name(host);
        if (!ok) {
            why = in_quotes(host) + " is neither an IP address nor a host name";
            return false;
        }
    }
    u32 number = 0;
    if (!parse_u32(port_text, 1, 65535, number, why)) {
        why = "port " + why;
        return false;
    }
    port = static_cast<u16>(number);
    return true;
}

bool set_listen(std::string_view value, Options& out, std::string& why) {
    return parse_address(value, PortAlone::refused, out.listen_host, out.listen_port, why);
}

// --management-listen: HOST:PORT, or none.
bool set_http_listen(std::string_view value, HttpListener& out, std::string& why) {
    if (value == "none") {
        out.enabled = false;
        return true;
    }
    out.enabled = true;
    return parse_address(value, PortAlone::refused, out.host, out.port, why);
}

bool set_management_listen(std::string_view value, Options& out, std::string& why) {
    return set_http_listen(value, out.management, why);
}

bool set_http_ip(std::string_view value, HttpListener& out, std::string& why) {
    std::string host(value);
    bool ok = host.find(':') != host.npos ? is_ip_literal(host, AF_INET6)
                                          : is_ip_literal(host, AF_INET) || is_host_name(host);
    if (!ok) {
        why = in_quotes(value) + " is neither an IP address nor a host name";
        return false;
    }
    out.host = std::move(host);
    return true;
}

bool set_http_port(std::string_view value, HttpListener& out, std::string& why) {
    u32 port = 0;
    if (!parse_u32(value, 1, 65535, port, why)) return false;
    out.port = static_cast<u16>(port);
    return true;
}

bool set_management_ip(std::string_view value, Options& out, std::string& why) {
    return set_http_ip(value, out.management, why);
}
bool set_management_port(std::string_view value, Options& out, std::string& why) {
    return set_http_port(value, out.management, why);
}

bool set_tcp_listeners(std::string_view value, Options& out, std::string& why) {
    if (value != "none") {
        why = "expected none (or listeners.tcp.NAME = HOST:PORT), got " + in_quotes(value);
        return false;
    }
    out.tcp_listeners_off = true;
    return true;
}

bool set_true_false(std::string_view value, bool& out, std::string& why) {
    if (value == "true" || value == "false") {
        out = value == "true";
        return true;
    }
    why = "expected true or false, got " + in_quotes(value);
    return false;
}

bool set_ssl_verify(std::string_view value, Options& out, std::string& why) {
    if (value == "verify_peer" || value == "verify_none") {
        out.tls.verify = value == "verify_peer" ? tls::Verify::peer : tls::Verify::none;
        return true;
    }
    why = "expected verify_peer or verify_none, got " + in_quotes(value);
    return false;
}

bool set_ssl_fail_if_no_peer_cert(std::string_view value, Options& out, std::string& why) {
    return set_true_false(value, out.tls.fail_if_no_peer_cert, why);
}

bool set_non_empty(std::string_view value, std::string& field, std::string& why) {
    if (value.empty()) {
        why = "needs a non-empty value";
        return false;
    }
    field = std::string(value);
    return true;
}

bool set_short_string(std::string_view value, std::string& field, std::string& why) {
    if (value.size() > short_string_max_bytes) {
        why = "is longer than " + std::to_string(short_string_max_bytes) + " bytes";
        return false;
    }
    return set_non_empty(value, field, why);
}

bool set_ssl_cacertfile(std::string_view value, Options& out, std::string& why) {
    return set_non_empty(value, out.tls.cacertfile, why);
}

bool set_ssl_certfile(std::string_view value, Options& out, std::string& why) {
    return set_non_empty(value, out.tls.certfile, why);
}

bool set_ssl_keyfile(std::string_view value, Options& out, std::string& why) {
    return set_non_empty(value, out.tls.keyfile, why);
}

bool set_ssl_password(std::string_view value, Options& out, std::string& why) {
    return set_non_empty(value, out.tls.password, why);
}

bool set_data_dir(std::string_view value, Options& out, std::string& why) {
    return set_non_empty(value, out.data_dir, why);
}

bool set_shards(std::string_view value, Options& out, std::string& why) {
    return parse_u32(value, 0, shards_max, out.shards, why);
}

bool set_heartbeat(std::string_view value, Options& out, std::string& why) {
    return parse_u32(value, 0, heartbeat_s_max, out.heartbeat_s, why);
}

bool set_frame_max(std::string_view value, Options& out, std::string& why) {
    return parse_u32(value, frame_max_min_bytes, frame_max_max_bytes, out.frame_max, why);
}

bool set_channel_max(std::string_view value, Options& out, std::string& why) {
    u32 channel_max = 0;
    if (!parse_u32(value, channel_max_min, channel_max_max, channel_max, why)) return false;
    out.channel_max = static_cast<u16>(channel_max);
    return true;
}

bool set_busy_poll(std::string_view value, Options& out, std::string& why) {
    return parse_u32(value, 0, busy_poll_max_us, out.busy_poll_us, why);
}

bool set_handshake_timeout(std::string_view value, Options& out, std::string& why) {
    return parse_u32(value, handshake_timeout_min_ms, handshake_timeout_max_ms,
                     out.handshake_timeout_ms, why);
}

bool set_send_timeout(std::string_view value, Options& out, std::string& why) {
    return parse_u32(value, send_timeout_min_ms, send_timeout_max_ms, out.send_timeout_ms, why);
}

// 0 (the kernel's autotuning) or a size in bytes.
bool set_tcp_buffer(std::string_view value, u32& out, std::string& why) {
    if (value == "0") {
        out = 0;
        return true;
    }
    return parse_u32(value, tcp_buffer_min, tcp_buffer_max, out, why);
}

bool set_tcp_recbuf(std::string_view value, Options& out, std::string& why) {
    return set_tcp_buffer(value, out.tcp_recbuf, why);
}

bool set_tcp_sndbuf(std::string_view value, Options& out, std::string& why) {
    return set_tcp_buffer(value, out.tcp_sndbuf, why);
}

bool set_journal_segment_mb(std::string_view value, Options& out, std::string& why) {
    return parse_u32(value, journal_segment_mb_min, journal_segment_mb_max, out.journal_segment_mb,
                     why);
}

bool set_journal_flush_ms(std::string_view value, Options& out, std::string& why) {
    return parse_u32(value, 0, journal_flush_ms_max, out.journal_flush_ms, why);
}

bool set_queue_memory_mb(std::string_view value, Options& out, std::string& why) {
    return parse_u32(value, queue_memory_mb_min, queue_memory_mb_max, out.queue_memory_mb, why);
}

// A decimal fraction such as 0.4: digits, one point, digits. No sign, exponent or suffix.
bool set_memory_high_watermark(std::string_view value, Options& out, std::string& why) {
    const bool plain = !value.empty() && value.find_first_not_of("0123456789.") == value.npos &&
                       value.find('.') == value.rfind('.');
    double fraction = 0;
    const char* end = value.data() + value.size();
    const auto [stop, code] = std::from_chars(value.data(), end, fraction);
    if (!plain || code != std::errc{} || stop != end) {
        why = in_quotes(value) + " is not a decimal fraction such as 0.4";
        return false;
    }
    if (fraction < memory_high_watermark_min || fraction > memory_high_watermark_max) {
        char range[32];
        std::snprintf(range, sizeof(range), "%g-%g", memory_high_watermark_min,
                      memory_high_watermark_max);
        why = in_quotes(value) + " is outside " + range;
        return false;
    }
    out.memory_high_watermark = fraction;
    return true;
}

bool set_memory_limit_mb(std::string_view value, Options& out, std::string& why) {
    return parse_u32(value, 0, memory_limit_mb_max, out.memory_limit_mb, why);
}

// An amount of bytes as rabbitmq.conf writes one: bytes, or a number with one of its units
// (k, K, KiB, M, MiB, G, GiB are powers of 1024; kB, KB, MB, GB powers of 1000).
bool parse_bytes(std::string_view value, u64 max, u64& out, std::string& why) {
    usize digits = value.find_first_not_of("0123456789");
    std::string_view number = value.substr(0, digits);
    std::string_view unit = digits == value.npos ? std::string_view() : value.substr(digits);
    u64 amount = 0;
    const auto [stop, code] = std::from_chars(number.data(), number.data() + number.size(), amount);
    u64 scale = 0;
    for (auto [name, factor] :
         std::initializer_list<std::pair<std::string_view, u64>>{{"", 1},
                                                                 {"k", 1ull << 10},
                                                                 {"K", 1ull << 10},
                                                                 {"KiB", 1ull << 10},
                                                                 {"M", 1ull << 20},
                                                                 {"MiB", 1ull << 20},
                                                                 {"G", 1ull << 30},
                                                                 {"GiB", 1ull << 30},
                                                                 {"kB", 1000},
                                                                 {"KB", 1000},
                                                                 {"MB", 1000 * 1000},
                                                                 {"GB", 1000 * 1000 * 1000}}) {
        if (unit == name) scale = factor;
    }
    if (number.empty() || code != std::errc{} || stop != number.data() + number.size() ||
        scale == 0) {
        why = in_quotes(value) + " is not an amount of bytes such as 1073741824, 1024MiB or 2GB";
        return false;
    }
    if (amount > max / scale) {
        why = in_quotes(value) + " is more than " + std::to_string(max) + " bytes";
        return false;
    }
    out = amount * scale;
    return true;
}

// rabbitmq.conf's vm_memory_high_watermark.absolute; the limit is kept in MiB, rounded up.
bool set_memory_high_watermark_absolute(std::string_view value, Options& out, std::string& why) {
    u64 bytes = 0;
    if (!parse_bytes(value, u64{memory_limit_mb_max} << 20, bytes, why)) return false;
    if (bytes == 0) {
        why = in_quotes(value) + " is no memory at all: the alarm would never clear";
        return false;
    }
    out.memory_limit_mb = static_cast<u32>((bytes + (1u << 20) - 1) >> 20);
    return true;
}

// rabbitmq.conf's disk_free_limit.absolute; 0 turns the disk alarm off.
bool set_disk_free_limit_absolute(std::string_view value, Options& out, std::string& why) {
    return parse_bytes(value, u64{1} << 60, out.disk_free_limit_bytes, why);
}

// rabbitmq.conf's disk_free_limit.relative: a multiple of the machine's physical memory (1.0,
// 1.5, 2.0), as RabbitMQ reckons it.
bool set_disk_free_limit_relative(std::string_view value, Options& out, std::string& why) {
    const bool plain = !value.empty() && value.find_first_not_of("0123456789.") == value.npos &&
                       value.find('.') == value.rfind('.');
    double multiple = 0;
    const char* end = value.data() + value.size();
    const auto [stop, code] = std::from_chars(value.data(), end, multiple);
    if (!plain || code != std::errc{} || stop != end || multiple > 100) {
        why = in_quotes(value) + " is not a multiple of physical memory such as 1.5";
        return false;
    }
    out.disk_free_limit_bytes =
        static_cast<u64>(multiple * static_cast<double>(physical_memory_bytes()));
    return true;
}

bool set_log_level(std::string_view value, Options& out, std::string& why) {
    for (std::string_view level : {"error", "warning", "info", "debug"}) {
        if (value == level) {
            out.log_level = std::string(value);
            return true;
        }
    }
    why = "expected error, warning, info or debug, got " + in_quotes(value);
    return false;
}

bool set_default_user(std::string_view value, Options& out, std::string& why) {
    return set_short_string(value, out.default_user, why);
}

bool set_default_password(std::string_view value, Options& out, std::string& why) {
    return set_short_string(value, out.default_password, why);
}

bool set_loopback_users_only(std::string_view value, Options& out, std::string& why) {
    return set_true_false(value, out.loopback_users_only, why);
}

bool parse_bool(std::string_view value, bool& out, std::string& why) {
    if (value == "true" || value == "false") {
        out = value == "true";
        return true;
    }
    why = "expected true or false, got " + in_quotes(value);
    return false;
}

// rabbitmq.conf's default_vhost: the one vhost a new data directory starts with.
bool set_default_vhost(std::string_view value, Options& out, std::string& why) {
    std::string name;
    if (!set_short_string(value, name, why)) return false;
    out.vhosts = {std::move(name)};
    return true;
}

// rabbitmq.conf's default_user_tags.administrator = true | false.
bool set_default_user_administrator(std::string_view value, Options& out, std::string& why) {
    bool administrator = false;
    if (!parse_bool(value, administrator, why)) return false;
    std::erase(out.default_user_tags, "administrator");
    if (administrator) out.default_user_tags.emplace_back("administrator");
    return true;
}

// rabbitmq.conf's loopback_users.guest = true | false: whether guest may log in only over
// loopback.
bool set_loopback_guest(std::string_view value, Options& out, std::string& why) {
    bool loopback_only = false;
    if (!parse_bool(value, loopback_only, why)) return false;
    std::erase(out.loopback_users, "guest");
    if (loopback_only) out.loopback_users.emplace_back("guest");
    return true;
}

// rabbitmq.conf's loopback_users = none: nobody is held to loopback.
bool set_loopback_users(std::string_view value, Options& out, std::string& why) {
    if (value != "none") {
        why = "expected none, got " + in_quotes(value);
        return false;
    }
    out.loopback_users.clear();
    return true;
}

// A comma-separated list; blanks around each name are dropped. Replaces the default {"/"}.
bool set_vhosts(std::string_view value, Options& out, std::string& why) {
    std::vector<std::string> vhosts;
    while (true) {
        const usize comma = value.find(',');
        const std::string_view name = trim(value.substr(0, comma));
        if (name.empty()) {
            why = "an empty vhost name in the list";
            return false;
        }
        if (name.size() > short_string_max_bytes) {
            why = "vhost name longer than " + std::to_string(short_string_max_bytes) + " bytes";
            return false;
        }
        for (const std::string& seen : vhosts) {
            if (seen == name) {
                why = "vhost " + in_quotes(name) + " is listed twice";
                return false;
            }
        }
        if (vhosts.size() == vhosts_max) {
            why = "more than " + std::to_string(vhosts_max) + " vhosts";
            return false;
        }
        vhosts.emplace_back(name);
        if (comma == value.npos) break;
        value.remove_prefix(comma + 1);
    }
    out.vhosts = std::move(vhosts);
    return true;
}

// Every setting, by its flag (empty: config file only) and its config file key.
struct Setting {
    std::string_view flag;
    std::string_view key;
    Setter set;
};

constexpr std::array settings = {
    Setting{"--listen", "listen", set_listen},
    Setting{"--data-dir", "data_dir", set_data_dir},
    Setting{"--shards", "shards", set_shards},
    Setting{"--heartbeat", "heartbeat", set_heartbeat},
    Setting{"--frame-max", "frame_max", set_frame_max},
    Setting{"--channel-max", "channel_max", set_channel_max},
    Setting{"--log-level", "log_level", set_log_level},
    Setting{"--journal-segment-mb", "journal_segment_mb", set_journal_segment_mb},
    Setting{"--queue-memory-mb", "queue_memory_mb", set_queue_memory_mb},
    Setting{"--journal-flush-ms", "journal_flush_ms", set_journal_flush_ms},
    Setting{"--busy-poll-us", "busy_poll_us", set_busy_poll},
    Setting{"--memory-high-watermark", "memory_high_watermark", set_memory_high_watermark},
    Setting{"--memory-limit-mb", "memory_limit_mb", set_memory_limit_mb},
    Setting{"--tcp-recbuf", "tcp_listen_options.recbuf", set_tcp_recbuf},
    Setting{"--tcp-sndbuf", "tcp_listen_options.sndbuf", set_tcp_sndbuf},
    Setting{"--management-listen", "management_listen", set_management_listen},
    Setting{"", "handshake_timeout_ms", set_handshake_timeout},
    Setting{"", "send_timeout_ms", set_send_timeout},
    Setting{"", "default_user", set_default_user},
    Setting{"", "default_password", set_default_password},
    Setting{"", "loopback_users_only", set_loopback_users_only},
    Setting{"", "vhosts", set_vhosts},
    // rabbitmq.conf's names for the same, and the access settings it has keys for.
    Setting{"", "default_pass", set_default_password},
    Setting{"", "default_vhost", set_default_vhost},
    Setting{"", "default_user_tags.administrator", set_default_user_administrator},
    Setting{"", "loopback_users.guest", set_loopback_guest},
    Setting{"", "loopback_users", set_loopback_users},
    Setting{"", "vm_memory_high_watermark.relative", set_memory_high_watermark},
    Setting{"", "vm_memory_high_watermark.absolute", set_memory_high_watermark_absolute},
    Setting{"", "disk_free_limit.absolute", set_disk_free_limit_absolute},
    Setting{"", "disk_free_limit.relative", set_disk_free_limit_relative},
    Setting{"", "listeners.tcp", set_tcp_listeners},
    Setting{"", "management.tcp.ip", set_management_ip},
    Setting{"", "management.tcp.port", set_management_port},
    Setting{"", "ssl_options.cacertfile", set_ssl_cacertfile},
    Setting{"", "ssl_options.certfile", set_ssl_certfile},
    Setting{"", "ssl_options.keyfile", set_ssl_keyfile},
    Setting{"", "ssl_options.password", set_ssl_password},
    Setting{"", "ssl_options.verify", set_ssl_verify},
    Setting{"", "ssl_options.fail_if_no_peer_cert", set_ssl_fail_if_no_peer_cert},
    Setting{"", "log.file", set_log_file},
    Setting{"", "log.file.level", set_log_file_level},
    Setting{"", "log.console", set_log_console},
    Setting{"", "log.console.level", set_log_console_level},
    Setting{"", "load_definitions", set_load_definitions},
};

// Keys that end in a name of the user's choosing (listeners.tcp.N, ssl_options.versions.N and
// the like). The first of a list replaces its default; the others add to it.
struct IndexedState {
    bool versions_seen = false;
};

bool is_index_name(std::string_view name) {
    return !name.empty() && name.size() <= 64 &&
           name.find_first_not_of(
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == name.npos;
}

bool add_listener(std::string_view key, Transport transport, std::string_view name,
                  std::string_view value, Options& out, std::string& why) {
    std::string host;
    u16 port = 0;
    if (!parse_address(value, PortAlone::every_interface, host, port, why)) return false;
    if (transport == Transport::tcp && name == "default") {
        out.listen_host = std::move(host);
        out.listen_port = port;
        return true;
    }
    if (out.more_listeners.size() + 1 >= listeners_max) {
        why = "more than " + std::to_string(listeners_max) + " listeners";
        return false;
    }
    out.more_listeners.push_back(ListenerSpec{std::string(key), transport, std::move(host), port});
    return true;
}

bool add_version(std::string_view value, Options& out, IndexedState& state, std::string& why) {
    u8 bit = 0;
    if (value == "tlsv1.2") {
        bit = tls::version_tls12;
    } else if (value == "tlsv1.3") {
        bit = tls::version_tls13;
    } else {
        why = "expected tlsv1.2 or tlsv1.3 (older versions are not supported), got " +
              in_quotes(value);
        return false;
    }
    if (!state.versions_seen) out.tls.versions = 0;
    state.versions_seen = true;
    out.tls.versions |= bit;
    return true;
}

bool add_cipher(std::string_view value, Options& out, std::string& why) {
    if (value.empty() ||
        value.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789_-.") != value.npos) {
        why =
            "expected an OpenSSL cipher name, as TLS_AES_128_GCM_SHA256 or "
            "ECDHE-RSA-AES128-GCM-SHA256, got " +
            in_quotes(value);
        return false;
    }
    if (out.tls.ciphers.size() == indexed_values_max) {
        why = "more than " + std::to_string(indexed_values_max) + " ciphers";
        return false;
    }
    out.tls.ciphers.emplace_back(value);
    return true;
}

bool add_mechanism(std::string_view value, Options& out, std::string& why) {
    if (value != "PLAIN" && value != "AMQPLAIN" && value != "EXTERNAL") {
        why = "expected PLAIN, AMQPLAIN or EXTERNAL, got " + in_quotes(value);
        return false;
    }
    for (const std::string& seen : out.auth_mechanisms) {
        if (seen == value) {
            why = in_quotes(value) + " is listed twice";
            return false;
        }
    }
    out.auth_mechanisms.emplace_back(value);
    return true;
}

enum class Indexed : u8 { not_indexed, applied, refused };

Indexed apply_indexed(std::string_view key, std::string_view value, Options& out,
                      IndexedState& state, std::string& why) {
    struct Prefix {
        std::string_view text;
        u8 kind;
    };
    constexpr std::array prefixes = {
        Prefix{"listeners.tcp.", 0},        Prefix{"listeners.ssl.", 1},
        Prefix{"ssl_options.versions.", 2}, Prefix{"ssl_options.ciphers.", 3},
        Prefix{"auth_mechanisms.", 4},
    };
    for (const Prefix& prefix : prefixes) {
        if (!key.starts_with(prefix.text)) continue;
        std::string_view name = key.substr(prefix.text.size());
        if (!is_index_name(name)) return Indexed::not_indexed;
        bool ok = false;
        switch (prefix.kind) {
            case 0: ok = add_listener(key, Transport::tcp, name, value, out, why); break;
            case 1: ok = add_listener(key, Transport::tls, name, value, out, why); break;
            case 2: ok = add_version(value, out, state, why); break;
            case 3: ok = add_cipher(value, out, why); break;
            default: ok = add_mechanism(value, out, why); break;
        }
        return ok ? Indexed::applied : Indexed::refused;
    }
    return Indexed::not_indexed;
}

const Setting* find_flag(std::string_view flag) {
    for (const Setting& setting : settings) {
        if (!setting.flag.empty() && setting.flag == flag) return &setting;
    }
    return nullptr;
}

const Setting* find_key(std::string_view key) {
    for (const Setting& setting : settings) {
        if (setting.key == key) return &setting;
    }
    return nullptr;
}

struct FlagValue {
    const Setting* setting;
    std::string_view value;
};

enum class FlagKind : u8 { help, version, config, setting, unknown };

FlagKind classify(std::string_view name, const Setting*& setting) {
    setting = nullptr;
    if (name == "--help" || name == "-h") return FlagKind::help;
    if (name == "--version") return FlagKind::version;
    if (name == "--config") return FlagKind::config;
    setting = find_flag(name);
    return setting != nullptr ? FlagKind::setting : FlagKind::unknown;
}

}  // namespace

ParseOutcome parse_options(int argc, char** argv, Options& out, std::string& error) {
    // First pass: split the arguments into flags and values, so the config file can be
    // applied before any flag whatever the order they were given in.
    std::vector<FlagValue> flags;
    std::optional<std::string> config_file;
    for (int i = 1; i < argc; ++i) {
        const std::string_view argument = argv[i];
        if (!argument.starts_with('-')) {
            error = "unexpected argument " + in_quotes(argument);
            return ParseOutcome::error;
        }
        const usize equals = argument.find('=');
        const std::string_view name = argument.substr(0, equals);
        const Setting* setting = nullptr;
        const FlagKind kind = classify(name, setting);
        if (kind == FlagKind::unknown) {
            error = "unknown flag " + in_quotes(name);
            return ParseOutcome::error;
        }
        if (kind == FlagKind::help || kind == FlagKind::version) {
            if (equals != argument.npos) {
                error = std::string(name) + " takes no value";
                return ParseOutcome::error;
            }
            const std::string text = kind == FlagKind::help
                                         ? help_text()
                                         : "lepusd " + std::string(lepus_version) + "\n";
            std::fputs(text.c_str(), stdout);
            std::fflush(stdout);
            return ParseOutcome::exit_ok;
        }
        std::string_view value;
        if (equals != argument.npos) {
            value = argument.substr(equals + 1);
        } else if (i + 1 < argc && !std::string_view(argv[i + 1]).starts_with("--")) {
            value = argv[++i];
        } else {
            error = std::string(name) + " needs a value";
            return ParseOutcome::error;
        }
        if (kind == FlagKind::config) {
            if (value.empty()) {
                error = "--config needs a non-empty value";
                return ParseOutcome::error;
            }
            config_file = std::string(value);
        } else {
            flags.push_back(FlagValue{setting, value});
        }
    }
    if (config_file.has_value()) {
        if (!load_config_file(*config_file, out, error)) return ParseOutcome::error;
        out.config_file = *config_file;
    }
    for (const FlagValue& flag : flags) {
        std::string why;
        if (!flag.setting->set(flag.value, out, why)) {
            error = std::string(flag.setting->flag) + ": " + why;
            return ParseOutcome::error;
        }
    }
    if (!check_options(out, error)) return ParseOutcome::error;
    return ParseOutcome::run;
}

std::vector<ListenerSpec> Options::listeners() const {
    std::vector<ListenerSpec> all;
    if (!tcp_listeners_off) {
        all.push_back(
            ListenerSpec{"listeners.tcp.default", Transport::tcp, listen_host, listen_port});
    }
    for (const ListenerSpec& spec : more_listeners) {
        if (spec.transport == Transport::tls || !tcp_listeners_off) all.push_back(spec);
    }
    return all;
}

bool Options::has_tls_listener() const {
    for (const ListenerSpec& spec : more_listeners) {
        if (spec.transport == Transport::tls) return true;
    }
    return false;
}

session::Settings Options::session_settings() const {
    session::Settings settings;
    settings.heartbeat_s = heartbeat_s;
    settings.frame_max = frame_max;
    settings.channel_max = channel_max;
    settings.handshake_timeout_ms = handshake_timeout_ms;
    if (!loopback_users_only)
        settings.loopback_users.clear();
    else
        settings.loopback_users = loopback_users;
    if (!auth_mechanisms.empty()) {
        settings.auth_mechanisms.clear();
        for (const std::string& mechanism : auth_mechanisms) {
            if (!settings.auth_mechanisms.empty()) settings.auth_mechanisms += ' ';
            settings.auth_mechanisms += mechanism;
        }
    }
    return settings;
}

bool check_options(const Options& options, std::string& error) {
    std::vector<ListenerSpec> listeners = options.listeners();
    if (listeners.empty()) {
        error = "listeners.tcp = none and no listeners.ssl: lepusd would listen nowhere";
        return false;
    }
    for (usize i = 0; i < listeners.size(); i++) {
        for (usize j = 0; j < i; j++) {
            if (listeners[i].host == listeners[j].host && listeners[i].port == listeners[j].port) {
                error = listeners[j].key + " and " + listeners[i].key + " name the same address";
                return false;
            }
        }
    }
    const tls::Settings& tls = options.tls;
    if (options.has_tls_listener() && (tls.certfile.empty() || tls.keyfile.empty())) {
        error = "a TLS listener (listeners.ssl) needs ssl_options.certfile and ssl_options.keyfile";
        return false;
    }
    if (tls.verify == tls::Verify::peer && tls.cacertfile.empty()) {
        error = "ssl_options.verify = verify_peer needs ssl_options.cacertfile";
        return false;
    }
    if (tls.fail_if_no_peer_cert && tls.verify != tls::Verify::peer) {
        error = "ssl_options.fail_if_no_peer_cert = true needs ssl_options.verify = verify_peer";
        return false;
    }
    for (const std::string& mechanism : options.auth_mechanisms) {
        if (mechanism == "EXTERNAL" &&
            (!options.has_tls_listener() || tls.verify != tls::Verify::peer)) {
            error =
                "auth_mechanisms: EXTERNAL needs a TLS listener (listeners.ssl) with "
                "ssl_options.verify = verify_peer";
            return false;
        }
    }
    return true;
}

bool load_config_file(const std::string& path, Options& out, std::string& error) {
    errno = 0;
    std::ifstream file(path);
    if (!file.is_open()) {
        error = path + ": cannot open: " + std::strerror(errno != 0 ? errno : ENOENT);
        return false;
    }
    // A directory opens as a stream on Linux and then reads as nothing: say so instead.
    std::error_code ignored;
    if (std::filesystem::is_directory(path, ignored)) {
        error = path + ": cannot open: " + std::strerror(EISDIR);
        return false;
    }
    // Line numbers at which each key was set, to reject a key given twice.
    std::map<std::string, usize, std::less<>> set_on_line;
    IndexedState indexed;
    std::string line;
    usize line_number = 0;
    while (std::getline(file, line)) {
        ++line_number;
        const std::string where = path + ":" + std::to_string(line_number) + ": ";
        if (line_number > config_lines_max) {
            error = where + "more than " + std::to_string(config_lines_max) + " lines";
            return false;
        }
        if (line.size() > config_line_max_bytes) {
            error = where + "line longer than " + std::to_string(config_line_max_bytes) + " bytes";
            return false;
        }
        std::string_view text = line;
        if (line_number == 1 && text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
        text = trim(text);
        if (text.empty() || text.starts_with('#')) continue;
        const usize equals = text.find('=');
        if (equals == text.npos) {
            error = where + "expected 'key = value', got " + in_quotes(text);
            return false;
        }
        const std::string_view key = trim(text.substr(0, equals));
        const std::string_view value = trim(text.substr(equals + 1));
        if (auto seen = set_on_line.find(key); seen != set_on_line.end()) {
            error =
                where + in_quotes(key) + " is already set on line " + std::to_string(seen->second);
            return false;
        }
        std::string why;
        const Setting* setting = find_key(key);
        if (setting == nullptr) {
            Indexed applied = apply_indexed(key, value, out, indexed, why);
            if (applied == Indexed::not_indexed) {
                error = where + "unknown key " + in_quotes(key);
                return false;
            }
            set_on_line.emplace(std::string(key), line_number);
            if (applied == Indexed::refused) {
                error = where + std::string(key) + ": " + why;
                return false;
            }
            continue;
        }
        set_on_line.emplace(std::string(key), line_number);
        if (!setting->set(value, out, why)) {
            error = where + std::string(key) + ": " + why;
            return false;
        }
    }
    if (file.bad()) {
        error = path + ": read error";
        return false;
    }
    return true;
}

std::string help_text() {
    const Options defaults;
    std::string text;
    text += "Usage: lepusd [FLAG]...\n";
    text += "Lepus, an AMQP 0-9-1 broker: one shard per core on io_uring.\n\n";
    text += "Flags (--flag VALUE and --flag=VALUE are the same; flags win over the file):\n";
    text += "  --listen HOST:PORT     address to accept plain AMQP on, an IP literal or a host\n";
    text += "                         name; IPv6 in brackets, as [::1]:5672\n";
    text += "                         (default 127.0.0.1:5672)\n";
    text += "  --data-dir DIR         where durable queues and messages are kept\n";
    text += "                         (default " + std::string(data_dir_default) + ")\n";
    text += "  --shards N             shards, one thread each; 0 = one per online CPU\n";
    text += "                         (default 0, at most " + std::to_string(shards_max) + ")\n";
    text += "  --config FILE          read settings from FILE, 'key = value' lines; see\n";
    text += "                         docs/lepusd.conf.example\n";
    text += "  --heartbeat SECONDS    heartbeat interval offered to clients; 0 disables\n";
    text += "                         (default " + std::to_string(defaults.heartbeat_s) + ")\n";
    text += "  --frame-max BYTES      largest frame offered to clients, " +
            std::to_string(frame_max_min_bytes) + "-" + std::to_string(frame_max_max_bytes) + "\n";
    text += "                         (default " + std::to_string(defaults.frame_max) + ")\n";
    text += "  --channel-max N        most channels per connection, 1-65535\n";
    text += "                         (default " + std::to_string(defaults.channel_max) + ")\n";
    text += "  --log-level LEVEL      error, warning, info or debug (default info)\n";
    text += "  --journal-segment-mb N size of each journal segment file, " +
            std::to_string(journal_segment_mb_min) + "-" + std::to_string(journal_segment_mb_max) +
            " (default " + std::to_string(defaults.journal_segment_mb) + ")\n";
    text += "  --journal-flush-ms N   longest a shard holds journal records before writing\n";
    text += "                         them, 0-" + std::to_string(journal_flush_ms_max) +
            "; 0 writes every loop turn (default 0)\n";
    text += "  --queue-memory-mb N    message bodies a queue keeps in memory before it pages\n";
    text += "                         persistent ones out to the journal (default " +
            std::to_string(defaults.queue_memory_mb) + ")\n";
    text += "  --busy-poll-us N       before sleeping, a shard polls for work this long, 0-" +
            std::to_string(busy_poll_max_us) + ";\n";
    text += "                         lower latency for CPU (default " +
            std::to_string(defaults.busy_poll_us) + ")\n";
    text += "  --memory-high-watermark F  past this fraction of physical memory, connections\n";
    text += "                         that publish are blocked until memory falls again,\n";
    text += "                         0.01-0.9 (default 0.4, as RabbitMQ)\n";
    text += "  --memory-limit-mb N    the same limit in MiB, instead of the fraction; 0 = use\n";
    text += "                         the fraction (default 0)\n";
    text += "  --tcp-recbuf N         SO_RCVBUF of client connections in bytes, 0 or " +
            std::to_string(tcp_buffer_min) + "-" + std::to_string(tcp_buffer_max) +
            ";\n                         0 = the kernel's autotuning (default " +
            std::to_string(defaults.tcp_recbuf) + ")\n";
    text += "  --tcp-sndbuf N         SO_SNDBUF of client connections, the same way (default " +
            std::to_string(defaults.tcp_sndbuf) + ")\n";
    text += "  --management-listen HOST:PORT  the management HTTP API's address, or none\n";
    text += "                         (default 127.0.0.1:15672)\n";
    text += "  --help                 print this help and exit\n";
    text += "  --version              print the version and exit\n";
    text += "\nThe config file also sets handshake_timeout_ms, send_timeout_ms, default_user,\n";
    text += "default_password, loopback_users_only and vhosts (a comma-separated list), and\n";
    text += "rabbitmq.conf's default_pass, default_vhost, default_user_tags.administrator,\n";
    text += "loopback_users.guest and loopback_users = none, and listeners.tcp.NAME,\n";
    text += "listeners.ssl.NAME, ssl_options.* and auth_mechanisms.N for more listeners, TLS\n";
    text += "and EXTERNAL login, and management.tcp.ip and management.tcp.port.\n";
    text += "rabbitmq.conf's log.file, log.file.level, log.console and log.console.level send\n";
    text += "the log to a file (reopened on SIGHUP) and stderr; load_definitions applies a\n";
    text += "definitions file at every start.\n";
    return text;
}

}  // namespace lepus::server
