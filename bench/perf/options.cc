#include "bench/perf/options.h"

#include <charconv>
#include <cstdlib>

namespace lepus::perf {

namespace {

constexpr std::string_view help_text =
    R"(lepus-perf: an AMQP 0-9-1 load generator (in the spirit of RabbitMQ's PerfTest).

Producers publish to queues, consumers consume them, and the tool reports publish, confirm and
consume rates and end-to-end latency. The consume rate and latency are given over the whole run
(including the drain of any backlog once publishing stops) and over the publishing phase alone,
with the backlog left when the producers stopped. Every producer and consumer has its own
connection with one channel. Works against any AMQP 0-9-1 broker.

  --uri URI              amqp://user:password@host:port/vhost, or amqps:// for TLS
                         (default amqp://guest:guest@127.0.0.1:5672/)
  --tls                  speak TLS (as amqps://; keeps the URI's port)
  --ca-file PEM          with TLS, verify the broker's certificate against this CA
                         (default: no verification)
  --cert-file PEM        with TLS, present this client certificate
  --key-file PEM         its private key
  --producers N          producer connections (default 1); 0 drains what the queues
                         hold (no purge at start) until nothing arrives for --grace
  --consumers N          consumer connections (default 1)
  --publish-only         the same as --consumers 0
  --queues N             queues (default 1); queue i is "<prefix>-<i>", or <prefix> for one
  --queue-prefix NAME    (default "perf")
  --exchange NAME        publish through this exchange (default "": the default exchange);
                         it is declared and every queue bound to it with key = queue name
  --exchange-type TYPE   direct, fanout, topic or headers (default direct)
  --size BYTES           body size, at least 16 (default 16)
  --rate N               messages per second per producer; 0 = flat out (default 0)
  --confirm WINDOW       publisher confirms with at most WINDOW unconfirmed; 0 = off
  --persistent           publish with delivery_mode 2
  --durable              declare the queues durable
  --keep                 keep the queues (and exchange) at the end instead of deleting them
  --prefetch N           basic.qos prefetch per consumer channel; 0 = unlimited (default)
  --multi-ack-every N    ack with multiple=true every N deliveries (default 1)
  --autoack              consume with no-ack
  --send-buffer BYTES    SO_SNDBUF of the producers' sockets; 0 = the kernel's autotuning
                         (default 0). What a producer has written stays in this buffer until
                         the broker reads it, and counts as sent: it adds to the backlog
                         and to latency when the broker holds the producer back
  --duration SECONDS     publish for this long (default 10 unless --count is given)
  --count N              messages per producer
  --grace SECONDS        once publishing ends, consumers stop when nothing arrived for this
                         long (default 5), or when every message arrived
  --cpu LIST             pin the tool's threads to these CPUs, e.g. "1" or "0,1" or "2-3"
  --json                 the final summary as one JSON object on stdout; progress on stderr
  --quiet                no per-second progress lines
  --help                 this text

Producer p publishes to queue p % queues (routing key = queue name), or to the fanout
exchange; consumer c consumes queue c % queues. The body carries the send time and a
producer id and sequence number, so consumers measure latency and detect gaps and duplicates.
)";

template <typename T>
bool parse_number(std::string_view text, T& out) {
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    return error == std::errc{} && end == text.data() + text.size();
}

bool parse_seconds(std::string_view text, double& out) {
    std::string copy(text);
    char* end = nullptr;
    out = std::strtod(copy.c_str(), &end);
    return !copy.empty() && end == copy.c_str() + copy.size() && out >= 0;
}

bool parse_cpus(std::string_view text, std::vector<int>& out) {
    out.clear();
    while (!text.empty()) {
        usize comma = text.find(',');
        std::string_view item = text.substr(0, comma);
        usize dash = item.find('-');
        int first = 0;
        int last = 0;
        if (dash == std::string_view::npos) {
            if (!parse_number(item, first)) return false;
            last = first;
        } else if (!parse_number(item.substr(0, dash), first) ||
                   !parse_number(item.substr(dash + 1), last) || last < first) {
            return false;
        }
        if (first < 0 || last > 1023) return false;
        for (int cpu = first; cpu <= last; cpu++) out.push_back(cpu);
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return !out.empty();
}

bool percent_decode(std::string_view text, std::string& out) {
    out.clear();
    for (usize i = 0; i < text.size(); i++) {
        if (text[i] != '%') {
            out.push_back(text[i]);
            continue;
        }
        u8 value = 0;
        if (i + 2 >= text.size()) return false;
        auto [end, error] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
        if (error != std::errc{} || end != text.data() + i + 3) return false;
        out.push_back(static_cast<char>(value));
        i += 2;
    }
    return true;
}

}  // namespace

std::string_view exchange_type_name(ExchangeType type) {
    switch (type) {
        case ExchangeType::direct: return "direct";
        case ExchangeType::fanout: return "fanout";
        case ExchangeType::topic: return "topic";
        case ExchangeType::headers: return "headers";
    }
    return "direct";
}

bool parse_uri(std::string_view text, Uri& out, std::string& error) {
    constexpr std::string_view scheme = "amqp://";
    constexpr std::string_view tls_scheme = "amqps://";
    if (text.starts_with(tls_scheme)) {
        out.tls = true;
        out.port = 5671;
        text.remove_prefix(tls_scheme.size());
    } else if (text.starts_with(scheme)) {
        text.remove_prefix(scheme.size());
    } else {
        error = "the URI must start with amqp:// or amqps://";
        return false;
    }
    usize slash = text.find('/');
    std::string_view authority = text.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? "" : text.substr(slash + 1);
    usize at = authority.rfind('@');
    if (at != std::string_view::npos) {
        std::string_view credentials = authority.substr(0, at);
        authority.remove_prefix(at + 1);
        usize colon = credentials.find(':');
        if (!percent_decode(credentials.substr(0, colon), out.user)) {
            error = "bad percent-escape in the URI's user";
            return false;
        }
        if (colon != std::string_view::npos &&
            !percent_decode(credentials.substr(colon + 1), out.password)) {
            error = "bad percent-escape in the URI's password";
            return false;
        }
    }
    usize colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
        if (!parse_number(authority.substr(colon + 1), out.port) || out.port == 0) {
            error = "bad port in the URI";
            return false;
        }
        authority = authority.substr(0, colon);
    }
    if (!authority.empty()) out.host = std::string(authority);
    if (!percent_decode(path, out.vhost)) {
        error = "bad percent-escape in the URI's vhost";
        return false;
    }
    if (out.vhost.empty()) out.vhost = "/";
    return true;
}

std::string Options::queue_name(u32 index) const {
    if (queues == 1) return queue_prefix;
    return queue_prefix + "-" + std::to_string(index);
}

ParseOutcome parse_options(int argc, char** argv, Options& out, std::string& help,
                           std::string& error) {
    for (int i = 1; i < argc; i++) {
        std::string_view arg = argv[i];
        std::string_view value;
        bool has_inline_value = false;
        if (usize equals = arg.find('='); arg.starts_with("--") && equals != arg.npos) {
            value = arg.substr(equals + 1);
            arg = arg.substr(0, equals);
            has_inline_value = true;
        }
        auto flag = [&](bool& target) {
            target = true;
            return !has_inline_value;
        };
        auto next = [&]() -> bool {
            if (has_inline_value) return true;
            if (i + 1 >= argc) return false;
            value = argv[++i];
            return true;
        };
        bool ok = true;
        if (arg == "--help" || arg == "-h") {
            help = help_text;
            return ParseOutcome::exit_ok;
        } else if (arg == "--uri") {
            ok = next() && parse_uri(value, out.uri, error);
        } else if (arg == "--tls") {
            ok = flag(out.uri.tls);
        } else if (arg == "--ca-file") {
            ok = next() && !value.empty();
            out.uri.ca_file = std::string(value);
        } else if (arg == "--cert-file") {
            ok = next() && !value.empty();
            out.uri.cert_file = std::string(value);
        } else if (arg == "--key-file") {
            ok = next() && !value.empty();
            out.uri.key_file = std::string(value);
        } else if (arg == "--producers") {
            ok = next() && parse_number(value, out.producers) && out.producers <= producers_max;
        } else if (arg == "--consumers") {
            ok = next() && parse_number(value, out.consumers) && out.consumers <= consumers_max;
        } else if (arg == "--publish-only") {
            bool set = false;
            ok = flag(set);
            out.consumers = 0;
        } else if (arg == "--queues") {
            ok = next() && parse_number(value, out.queues) && out.queues >= 1 &&
                 out.queues <= queues_max;
        } else if (arg == "--queue-prefix") {
            ok = next() && !value.empty() && value.size() <= 200;
            out.queue_prefix = std::string(value);
        } else if (arg == "--exchange") {
            ok = next() && value.size() <= 255;
            out.exchange = std::string(value);
        } else if (arg == "--exchange-type") {
            ok = next();
            if (value == "direct")
                out.exchange_type = ExchangeType::direct;
            else if (value == "fanout")
                out.exchange_type = ExchangeType::fanout;
            else if (value == "topic")
                out.exchange_type = ExchangeType::topic;
            else if (value == "headers")
                out.exchange_type = ExchangeType::headers;
            else
                ok = false;
        } else if (arg == "--size") {
            ok = next() && parse_number(value, out.size) && out.size >= body_size_min &&
                 out.size <= body_size_max;
        } else if (arg == "--rate") {
            ok = next() && parse_number(value, out.rate);
        } else if (arg == "--confirm") {
            ok = next() && parse_number(value, out.confirm) && out.confirm <= (1u << 24);
        } else if (arg == "--persistent") {
            ok = flag(out.persistent);
        } else if (arg == "--durable") {
            ok = flag(out.durable);
        } else if (arg == "--keep") {
            ok = flag(out.keep);
        } else if (arg == "--prefetch") {
            ok = next() && parse_number(value, out.prefetch);
        } else if (arg == "--multi-ack-every") {
            ok = next() && parse_number(value, out.multi_ack_every) && out.multi_ack_every >= 1;
        } else if (arg == "--send-buffer") {
            ok = next() && parse_number(value, out.send_buffer);
        } else if (arg == "--autoack") {
            ok = flag(out.autoack);
        } else if (arg == "--duration") {
            ok = next() && parse_seconds(value, out.duration_s) && out.duration_s > 0;
        } else if (arg == "--count") {
            ok = next() && parse_number(value, out.count) && out.count >= 1 &&
                 out.count < (u64{1} << sequence_bits);
        } else if (arg == "--grace") {
            ok = next() && parse_seconds(value, out.grace_s);
        } else if (arg == "--cpu") {
            ok = next() && parse_cpus(value, out.cpus);
        } else if (arg == "--json") {
            ok = flag(out.json);
        } else if (arg == "--quiet") {
            ok = flag(out.quiet);
        } else {
            error = "unknown option " + std::string(arg);
            return ParseOutcome::error;
        }
        if (!ok) {
            if (error.empty()) error = "bad or missing value for " + std::string(arg);
            return ParseOutcome::error;
        }
    }
    if (out.prefetch != 0 && !out.autoack && out.multi_ack_every > out.prefetch) {
        error = "--multi-ack-every must not exceed --prefetch, or the consumer stalls";
        return ParseOutcome::error;
    }
    if (out.duration_s == 0 && out.count == 0) out.duration_s = default_duration_s;
    return ParseOutcome::run;
}

}  // namespace lepus::perf
