#pragma once
// lepus-perf's command line: every option with its default, parsed into one Options value.
#include <string>
#include <string_view>
#include <vector>

#include "core/base/types.h"

namespace lepus::perf {

// amqp://user:password@host:port/vhost, with percent-escapes in user, password and vhost;
// amqps:// for TLS (port 5671 unless given).
struct Uri {
    std::string host = "127.0.0.1";
    u16 port = 5672;
    std::string user = "guest";
    std::string password = "guest";
    std::string vhost = "/";
    // TLS (amqps:// or --tls): the CA that must have signed the broker's certificate (empty:
    // the certificate is not verified) and a client certificate and key to present (empty:
    // none).
    bool tls = false;
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
};

// The empty path and "/" both mean the vhost "/", as every PerfTest user writes it.
bool parse_uri(std::string_view text, Uri& out, std::string& error);

enum class ExchangeType : u8 { direct, fanout, topic, headers };
std::string_view exchange_type_name(ExchangeType type);

// The smallest body: a u64 send timestamp and a u64 holding the producer id and sequence.
inline constexpr u32 body_size_min = 16;
// The sequence number takes the low 40 bits of the second word, the producer id the rest.
inline constexpr u32 sequence_bits = 40;
inline constexpr u32 producers_max = 4096;
inline constexpr u32 consumers_max = 4096;
inline constexpr u32 queues_max = 4096;
inline constexpr u32 body_size_max = 64u << 20;

struct Options {
    Uri uri;
    u32 producers = 1;
    u32 consumers = 1;
    u32 queues = 1;
    std::string queue_prefix = "perf";
    std::string exchange;  // "" is the default exchange
    ExchangeType exchange_type = ExchangeType::direct;
    u32 size = body_size_min;
    u64 rate = 0;     // per producer, messages per second; 0 = as fast as the broker takes them
    u32 confirm = 0;  // publisher-confirm window; 0 = no confirms
    bool persistent = false;
    bool durable = false;
    bool keep = false;
    u16 prefetch = 0;
    u32 multi_ack_every = 1;
    // SO_SNDBUF of the producers' sockets; 0 leaves the kernel's autotuning (which lets a
    // flat-out producer keep up to net.ipv4.tcp_wmem's maximum unsent, 4 MiB by default).
    u32 send_buffer = 0;
    bool autoack = false;
    double duration_s = 0;  // 0 with count 0 means the default duration
    u64 count = 0;          // messages per producer; 0 = until the duration ends
    double grace_s = 5;     // how long consumers wait for stragglers after publishing ended
    std::vector<int> cpus;
    bool json = false;
    bool quiet = false;

    // "<prefix>-<i>", or just the prefix when there is one queue.
    std::string queue_name(u32 index) const;
    // Whether producer p's messages reach queue q.
    bool routes_to(u32 producer, u32 queue) const {
        return exchange_type == ExchangeType::fanout && !exchange.empty()
                   ? true
                   : producer % queues == queue;
    }
};

inline constexpr double default_duration_s = 10;

enum class ParseOutcome : u8 { run, exit_ok, error };

// On exit_ok, `help` holds the text to print; on error, `error` says what was wrong.
ParseOutcome parse_options(int argc, char** argv, Options& out, std::string& help,
                           std::string& error);

}  // namespace lepus::perf
