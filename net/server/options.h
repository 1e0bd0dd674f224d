#pragma once
// lepusd's settings: the command line, the optional config file, and the bounds each value must
// satisfy. Parsing is plain code with no side effects other than reading the config file and
// printing --help / --version, so every rule here is covered by tests/net/options_test.cc.
//
// Precedence: embedded defaults, then the config file (--config), then the other flags. The file
// is applied first whatever the order of the arguments, so a flag always wins over the file.
#include <string>
#include <string_view>
#include <vector>

#include "core/base/limits.h"
#include "core/base/types.h"
#include "net/server/operations_options.h"
#include "net/session/host.h"
#include "net/tls/settings.h"

namespace lepus::server {

// Kept in step with project(VERSION) in the top-level CMakeLists.txt.
inline constexpr std::string_view lepus_version = "0.1.0";

// Used when neither --data-dir nor data_dir is given; resolved against the working directory
// at start-up.
inline constexpr std::string_view data_dir_default = "./lepus-data";

// Bounds on the values a user may choose. AMQP carries heartbeat and channel-max as shorts, so
// those limits are the protocol's; the others keep a typo from becoming an absurd setting.
inline constexpr u32 shards_max = 256;
inline constexpr u32 heartbeat_s_max = 65535;
// The connection code is built for frames of at most limits::frame_size_max; a user may
// offer smaller frames, never larger.
inline constexpr u32 frame_max_min_bytes = limits::frame_size_min;  // AMQP's frame-min-size
inline constexpr u32 frame_max_max_bytes = limits::frame_size_max;
inline constexpr u32 channel_max_min = 1;
inline constexpr u32 channel_max_max = 65535;
inline constexpr u32 handshake_timeout_min_ms = 100;
inline constexpr u32 handshake_timeout_max_ms = 600'000;
inline constexpr u32 send_timeout_min_ms = 1000;
inline constexpr u32 send_timeout_max_ms = 3'600'000;
inline constexpr usize short_string_max_bytes = 255;  // user names and vhost names
inline constexpr usize vhosts_max = 1024;
inline constexpr usize config_line_max_bytes = 4096;
inline constexpr usize config_lines_max = 10'000;
// Journal segments: each shard preallocates one ahead, so small values suit tests and small
// disks, large ones fewer rotations.
inline constexpr u32 journal_segment_mb_min = 1;
inline constexpr u32 journal_segment_mb_max = 1024;
// How long a shard may hold a loop turn's records before writing them: 0 writes every turn.
// RabbitMQ's classic queues flush at least every 200 ms; so at most may Lepus wait.
inline constexpr u32 journal_flush_ms_max = 200;
// A queue's resident bodies before it pages persistent messages out to the journal.
inline constexpr u32 queue_memory_mb_min = 1;
inline constexpr u32 queue_memory_mb_max = 65536;
// Busy polling before a shard sleeps: a millisecond of spinning per idle turn is already a
// core's worth of CPU; more buys nothing.
inline constexpr u32 busy_poll_max_us = 1000;
// The memory alarm's high watermark as a fraction of physical memory. RabbitMQ's default is
// 0.4; above 0.9 the machine would swap or the OOM killer act before the alarm.
inline constexpr double memory_high_watermark_min = 0.01;
inline constexpr double memory_high_watermark_max = 0.9;
inline constexpr u32 memory_limit_mb_max = 16u << 20;  // 16 TiB
inline constexpr u32 tcp_buffer_min = 4096;
inline constexpr u32 tcp_buffer_max = 64u << 20;

// Listeners: at most this many, of either kind (each host name may resolve to several
// addresses, each a socket per shard).
inline constexpr usize listeners_max = 64;
inline constexpr usize indexed_values_max = 64;  // ssl_options.ciphers.N, auth_mechanisms.N

enum class Transport : u8 { tcp, tls };

// One listener as configured: the key that asked for it names it in messages.
struct ListenerSpec {
    std::string key;  // "listeners.ssl.default", "listeners.tcp.2", "listen"
    Transport transport = Transport::tcp;
    std::string host;  // an IP literal (IPv6 without brackets) or a host name
    u16 port = 0;
};

// An HTTP endpoint's address (the management API, Prometheus).
struct HttpListener {
    std::string host;
    u16 port = 0;
    bool enabled = true;
};

struct Options {
    // The plain listener of `listen`, --listen and listeners.tcp.default.
    std::string listen_host = "127.0.0.1";  // an IP literal or a host name; IPv6 unbracketed
    u16 listen_port = 5672;
    // listeners.tcp = none: no plain listener at all (TLS only).
    bool tcp_listeners_off = false;
    // listeners.tcp.N (N other than default) and listeners.ssl.N, in the order given.
    std::vector<ListenerSpec> more_listeners;
    // ssl_options.*: for every TLS listener.
    tls::Settings tls;
    // auth_mechanisms.N in the order given; empty: PLAIN and AMQPLAIN.
    std::vector<std::string> auth_mechanisms;
    std::string data_dir;  // empty: data_dir_default
    u32 shards = 0;        // 0 = one per online CPU
    std::string config_file;
    u32 heartbeat_s = 60;  // 0 disables heartbeats
    u32 frame_max = 131072;
    u16 channel_max = 2047;
    u32 handshake_timeout_ms = 10000;  // from the TCP accept to connection.open
    // A connection with more than limits::connection_send_backlog_high bytes waiting to be
    // sent, whose socket has taken none of them for this long, is closed: its peer is not
    // reading.
    u32 send_timeout_ms = 30000;
    // SO_RCVBUF and SO_SNDBUF of client connections, in bytes (rabbitmq.conf's
    // tcp_listen_options.recbuf and .sndbuf); 0 (the default, as RabbitMQ) leaves the
    // kernel's autotuning. The receive buffer bounds what a publisher held by flow control
    // still has on its way in: with autotuning it grows to net.ipv4.tcp_rmem's maximum (tens
    // of MiB on many hosts), hundreds of thousands of small publishes that wait in the kernel,
    // unseen by the broker's pressure, and add their wait to every message's latency. A fixed
    // size bounds that wait but costs throughput per connection, so it is the operator's
    // choice (core/README.md, "Flow control").
    u32 tcp_recbuf = 0;
    u32 tcp_sndbuf = 0;
    // The user and vhosts a new data directory starts with (rabbitmq.conf's default_user,
    // default_pass, default_user_tags, default_vhost; `vhosts` lists more than one). Used on
    // the first start only: after that the stored definitions rule.
    std::string default_user = "guest";
    std::string default_password = "guest";
    std::vector<std::string> default_user_tags = {"administrator"};
    std::vector<std::string> vhosts = {"/"};
    // Users who may log in only over loopback (rabbitmq.conf's loopback_users). The older
    // loopback_users_only = false lifts the rule for everyone, as loopback_users = none does.
    std::vector<std::string> loopback_users = {"guest"};
    bool loopback_users_only = true;
    std::string log_level = "info";  // error | warning | info | debug
    u32 journal_segment_mb = 64;
    u32 journal_flush_ms = 0;
    u32 queue_memory_mb = static_cast<u32>(limits::queue_resident_bytes_max >> 20);
    // How long a shard with nothing to do keeps polling its mailboxes and its ring before it
    // sleeps in io_uring. Waking a sleeping thread costs tens of microseconds on a VM (more in
    // the tails); polling trades CPU for that latency. 0 sleeps at once.
    u32 busy_poll_us = 0;
    // The memory alarm (see memory_monitor.h): past this share of physical memory, or past
    // memory_limit_mb when that is set (not 0), connections that publish are blocked.
    double memory_high_watermark = 0.4;
    u32 memory_limit_mb = 0;
    // The disk alarm: below this many free bytes in the data directory's file system,
    // connections that publish are blocked. RabbitMQ's default, 50 MB; 0 turns it off.
    u64 disk_free_limit_bytes = 50'000'000;
    // The management HTTP API (rabbitmq.conf's management.tcp.ip and .port, or
    // --management-listen; "none" turns it off). On loopback by default, like the AMQP
    // listener: exposing it is the operator's choice.
    HttpListener management{"127.0.0.1", 15672, true};
    // Log destinations and definitions loaded at boot (operations_options.h).
    OperationsOptions operations;

    // Every listener: the plain default one first (unless listeners.tcp = none), then the
    // others in the order given.
    std::vector<ListenerSpec> listeners() const;
    bool has_tls_listener() const;

    // What the AMQP sessions negotiate and enforce.
    session::Settings session_settings() const;
};

enum class ParseOutcome : u8 {
    run,
    exit_ok,  // --help or --version was printed
    error,
};

// Reads argv[1..argc) into `out`, which the caller fills with defaults (a fresh Options).
// Prints --help and --version to stdout itself. On ParseOutcome::error, `error` holds one line
// naming the flag, or the config file and line, at fault; `out` is then unspecified.
ParseOutcome parse_options(int argc, char** argv, Options& out, std::string& error);

// Applies the `key = value` lines of the file at `path` to `out`. The format is described in
// docs/lepusd.conf.example. On failure `error` names path:line, or the path if unreadable.
bool load_config_file(const std::string& path, Options& out, std::string& error);

// What no single setting can say: listeners that clash, TLS listeners without a certificate,
// verification settings that contradict each other, EXTERNAL with no certificate to read.
bool check_options(const Options& options, std::string& error);

std::string help_text();

}  // namespace lepus::server
