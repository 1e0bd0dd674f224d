#include "net/server/options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "net/server/memory_monitor.h"

namespace lepus::server {
namespace {

// Owns mutable copies of the arguments, as main() receives them.
class Args {
public:
    Args(std::initializer_list<std::string> arguments) : strings_{"lepusd"} {
        strings_.insert(strings_.end(), arguments);
        for (std::string& s : strings_) pointers_.push_back(s.data());
        pointers_.push_back(nullptr);
    }
    int argc() const { return static_cast<int>(strings_.size()); }
    char** argv() { return pointers_.data(); }

private:
    std::vector<std::string> strings_;
    std::vector<char*> pointers_;
};

struct Parsed {
    ParseOutcome outcome;
    Options options;
    std::string error;
};

Parsed parse(std::initializer_list<std::string> arguments) {
    Args args(arguments);
    Parsed parsed{ParseOutcome::error, Options{}, ""};
    parsed.outcome = parse_options(args.argc(), args.argv(), parsed.options, parsed.error);
    return parsed;
}

// A config file in a fresh temporary directory, removed with the fixture.
class ConfigFile {
public:
    explicit ConfigFile(const std::string& text) {
        std::string pattern = (std::filesystem::temp_directory_path() / "lepus-opts-XXXXXX");
        char* made = mkdtemp(pattern.data());
        EXPECT_NE(made, nullptr);
        dir_ = pattern;
        path_ = (dir_ / "lepusd.conf").string();
        std::ofstream(path_) << text;
    }
    ~ConfigFile() { std::filesystem::remove_all(dir_); }
    const std::string& path() const { return path_; }

private:
    std::filesystem::path dir_;
    std::string path_;
};

void expect_error(std::initializer_list<std::string> arguments, const std::string& expected) {
    const Parsed parsed = parse(arguments);
    EXPECT_EQ(parsed.outcome, ParseOutcome::error);
    EXPECT_EQ(parsed.error, expected);
}

TEST(Options, DefaultsWithoutArguments) {
    const Parsed parsed = parse({});
    ASSERT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
    const Options& o = parsed.options;
    EXPECT_EQ(o.listen_host, "127.0.0.1");
    EXPECT_EQ(o.listen_port, 5672);
    EXPECT_EQ(o.data_dir, "");
    EXPECT_EQ(o.shards, 0u);
    EXPECT_EQ(o.config_file, "");
    EXPECT_EQ(o.heartbeat_s, 60u);
    EXPECT_EQ(o.frame_max, 131072u);
    EXPECT_EQ(o.channel_max, 2047);
    EXPECT_EQ(o.handshake_timeout_ms, 10000u);
    EXPECT_EQ(o.default_user, "guest");
    EXPECT_EQ(o.default_password, "guest");
    EXPECT_TRUE(o.loopback_users_only);
    EXPECT_EQ(o.vhosts, std::vector<std::string>{"/"});
    EXPECT_EQ(o.log_level, "info");
}

TEST(Options, EveryFlagWithSeparateValue) {
    const Parsed parsed =
        parse({"--listen", "127.0.0.2:5673", "--data-dir", "/tmp/d", "--shards", "3", "--heartbeat",
               "5", "--frame-max", "4096", "--channel-max", "16", "--log-level", "debug"});
    ASSERT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
    const Options& o = parsed.options;
    EXPECT_EQ(o.listen_host, "127.0.0.2");
    EXPECT_EQ(o.listen_port, 5673);
    EXPECT_EQ(o.data_dir, "/tmp/d");
    EXPECT_EQ(o.shards, 3u);
    EXPECT_EQ(o.heartbeat_s, 5u);
    EXPECT_EQ(o.frame_max, 4096u);
    EXPECT_EQ(o.channel_max, 16);
    EXPECT_EQ(o.log_level, "debug");
}

TEST(Options, EveryFlagWithEquals) {
    const Parsed parsed =
        parse({"--listen=0.0.0.0:1", "--data-dir=rel/dir", "--shards=0", "--heartbeat=0",
               "--frame-max=131072", "--channel-max=65535", "--log-level=error"});
    ASSERT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
    const Options& o = parsed.options;
    EXPECT_EQ(o.listen_host, "0.0.0.0");
    EXPECT_EQ(o.listen_port, 1);
    EXPECT_EQ(o.data_dir, "rel/dir");
    EXPECT_EQ(o.shards, 0u);
    EXPECT_EQ(o.heartbeat_s, 0u);
    EXPECT_EQ(o.frame_max, 131072u);
    EXPECT_EQ(o.channel_max, 65535);
    EXPECT_EQ(o.log_level, "error");
}

TEST(Options, ListenIpv6InBrackets) {
    const Parsed parsed = parse({"--listen", "[::1]:5672"});
    ASSERT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
    EXPECT_EQ(parsed.options.listen_host, "::1");
    EXPECT_EQ(parsed.options.listen_port, 5672);
}

TEST(Options, LastFlagWins) {
    const Parsed parsed = parse({"--shards", "1", "--shards=2"});
    ASSERT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
    EXPECT_EQ(parsed.options.shards, 2u);
}

TEST(Options, LogLevels) {
    for (const char* level : {"error", "warning", "info", "debug"}) {
        const Parsed parsed = parse({"--log-level", level});
        ASSERT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
        EXPECT_EQ(parsed.options.log_level, level);
    }
}

TEST(Options, HelpPrintsUsageAndExits) {
    testing::internal::CaptureStdout();
    const Parsed parsed = parse({"--shards", "2", "--help"});
    const std::string printed = testing::internal::GetCapturedStdout();
    EXPECT_EQ(parsed.outcome, ParseOutcome::exit_ok);
    EXPECT_EQ(printed, help_text());
    for (const char* flag :
         {"--listen", "--data-dir", "--shards", "--config", "--heartbeat", "--frame-max",
          "--channel-max", "--log-level", "--busy-poll-us", "--help", "--version"}) {
        EXPECT_NE(printed.find(flag), std::string::npos) << flag;
    }
}

TEST(Options, BusyPollIsBounded) {
    Parsed parsed = parse({"--busy-poll-us", "50"});
    EXPECT_EQ(parsed.outcome, ParseOutcome::run);
    EXPECT_EQ(parsed.options.busy_poll_us, 50u);
    EXPECT_EQ(parse({"--busy-poll-us", "1001"}).outcome, ParseOutcome::error);
}

TEST(Options, MemoryHighWatermark) {
    EXPECT_DOUBLE_EQ(Options{}.memory_high_watermark, 0.4) << "RabbitMQ's default";
    EXPECT_EQ(Options{}.memory_limit_mb, 0u);
    Parsed parsed = parse({"--memory-high-watermark", "0.6", "--memory-limit-mb=512"});
    EXPECT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
    EXPECT_DOUBLE_EQ(parsed.options.memory_high_watermark, 0.6);
    EXPECT_EQ(parsed.options.memory_limit_mb, 512u);
    EXPECT_EQ(memory_limit_bytes(parsed.options), u64{512} << 20) << "the absolute limit wins";
    parsed.options.memory_limit_mb = 0;
    EXPECT_NEAR(static_cast<double>(memory_limit_bytes(parsed.options)),
                0.6 * static_cast<double>(physical_memory_bytes()), 4096.0);
    expect_error({"--memory-high-watermark", "0.95"},
                 "--memory-high-watermark: '0.95' is outside 0.01-0.9");
    expect_error({"--memory-high-watermark", "0"},
                 "--memory-high-watermark: '0' is outside 0.01-0.9");
    expect_error({"--memory-high-watermark", "40%"},
                 "--memory-high-watermark: '40%' is not a decimal fraction such as 0.4");
    expect_error({"--memory-high-watermark", "-0.4"},
                 "--memory-high-watermark: '-0.4' is not a decimal fraction such as 0.4");
    expect_error({"--memory-high-watermark", "0.4.1"},
                 "--memory-high-watermark: '0.4.1' is not a decimal fraction such as 0.4");
    expect_error({"--memory-limit-mb", "lots"}, "--memory-limit-mb: 'lots' is not a whole number");
}

// rabbitmq.conf's keys for the same two settings.
TEST(Options, VmMemoryHighWatermarkKeys) {
    auto limit_of = [](const std::string& text) {
        const ConfigFile file(text);
        Parsed parsed = parse({"--config", file.path()});
        EXPECT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
        return parsed.options;
    };
    EXPECT_DOUBLE_EQ(limit_of("vm_memory_high_watermark.relative = 0.6\n").memory_high_watermark,
                     0.6);
    EXPECT_EQ(limit_of("vm_memory_high_watermark.absolute = 1073741824\n").memory_limit_mb, 1024u);
    EXPECT_EQ(limit_of("vm_memory_high_watermark.absolute = 512MiB\n").memory_limit_mb, 512u);
    EXPECT_EQ(limit_of("vm_memory_high_watermark.absolute = 2G\n").memory_limit_mb, 2048u);
    // 10^9 bytes is 953.67 MiB: rounded up.
    EXPECT_EQ(limit_of("vm_memory_high_watermark.absolute = 1GB\n").memory_limit_mb, 954u);
    EXPECT_EQ(limit_of("vm_memory_high_watermark.absolute = 100\n").memory_limit_mb, 1u);
    for (const char* bad : {"2 GB", "2TB", "-1", "1.5G", "lots"}) {
        const ConfigFile file(std::string("vm_memory_high_watermark.absolute = ") + bad + "\n");
        Parsed parsed = parse({"--config", file.path()});
        EXPECT_EQ(parsed.outcome, ParseOutcome::error) << bad;
        EXPECT_NE(parsed.error.find("is not an amount of bytes such as 1073741824, 1024MiB or "
                                    "2GB"),
                  std::string::npos)
            << parsed.error;
    }
    const ConfigFile zero("vm_memory_high_watermark.absolute = 0\n");
    EXPECT_NE(parse({"--config", zero.path()}).error.find("is no memory at all"),
              std::string::npos);
}

TEST(Options, DiskFreeLimitKeys) {
    auto limit_of = [](const std::string& text) {
        const ConfigFile file(text);
        Parsed parsed = parse({"--config", file.path()});
        EXPECT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
        return parsed.options.disk_free_limit_bytes;
    };
    EXPECT_EQ(Options{}.disk_free_limit_bytes, 50'000'000u) << "RabbitMQ's default, 50MB";
    EXPECT_EQ(limit_of("disk_free_limit.absolute = 2GB\n"), 2'000'000'000u);
    EXPECT_EQ(limit_of("disk_free_limit.absolute = 512MiB\n"), 512u << 20);
    EXPECT_EQ(limit_of("disk_free_limit.absolute = 0\n"), 0u) << "no disk alarm";
    EXPECT_NEAR(static_cast<double>(limit_of("disk_free_limit.relative = 1.5\n")),
                1.5 * static_cast<double>(physical_memory_bytes()), 4096.0);
    const ConfigFile bad("disk_free_limit.relative = lots\n");
    EXPECT_NE(parse({"--config", bad.path()}).error.find("is not a multiple of physical memory"),
              std::string::npos);
}

TEST(Options, ManagementListener) {
    const Parsed defaults = parse({});
    ASSERT_EQ(defaults.outcome, ParseOutcome::run) << defaults.error;
    EXPECT_TRUE(defaults.options.management.enabled);
    EXPECT_EQ(defaults.options.management.host, "127.0.0.1");
    EXPECT_EQ(defaults.options.management.port, 15672) << "RabbitMQ's port";

    const Parsed flag = parse({"--management-listen", "[::1]:15999"});
    ASSERT_EQ(flag.outcome, ParseOutcome::run) << flag.error;
    EXPECT_EQ(flag.options.management.host, "::1");
    EXPECT_EQ(flag.options.management.port, 15999);
    EXPECT_FALSE(parse({"--management-listen", "none"}).options.management.enabled);

    const ConfigFile keys("management.tcp.ip = 0.0.0.0\nmanagement.tcp.port = 15680\n");
    const Parsed file = parse({"--config", keys.path()});
    ASSERT_EQ(file.outcome, ParseOutcome::run) << file.error;
    EXPECT_EQ(file.options.management.host, "0.0.0.0");
    EXPECT_EQ(file.options.management.port, 15680);
    for (const char* bad : {"management.tcp.port = 0\n", "management.tcp.port = 70000\n",
                            "management.tcp.ip = not an address\n"}) {
        const ConfigFile file_bad(bad);
        EXPECT_EQ(parse({"--config", file_bad.path()}).outcome, ParseOutcome::error) << bad;
    }
    EXPECT_EQ(parse({"--management-listen", "15672"}).outcome, ParseOutcome::error);
}

TEST(Options, TcpBuffers) {
    const Parsed defaults = parse({});
    ASSERT_EQ(defaults.outcome, ParseOutcome::run) << defaults.error;
    EXPECT_EQ(defaults.options.tcp_recbuf, 0u);
    EXPECT_EQ(defaults.options.tcp_sndbuf, 0u);

    const Parsed flags = parse({"--tcp-recbuf", "0", "--tcp-sndbuf=262144"});
    ASSERT_EQ(flags.outcome, ParseOutcome::run) << flags.error;
    EXPECT_EQ(flags.options.tcp_recbuf, 0u) << "0 = the kernel's autotuning";
    EXPECT_EQ(flags.options.tcp_sndbuf, 262144u);

    const ConfigFile file(
        "tcp_listen_options.recbuf = 65536\n"
        "tcp_listen_options.sndbuf = 4096\n");
    const Parsed keys = parse({"--config", file.path()});
    ASSERT_EQ(keys.outcome, ParseOutcome::run) << keys.error;
    EXPECT_EQ(keys.options.tcp_recbuf, 65536u);
    EXPECT_EQ(keys.options.tcp_sndbuf, 4096u);

    expect_error({"--tcp-recbuf", "4095"}, "--tcp-recbuf: '4095' is below the minimum 4096");
    expect_error({"--tcp-sndbuf", "67108865"},
                 "--tcp-sndbuf: '67108865' is above the maximum 67108864");
    expect_error({"--tcp-recbuf", "64k"}, "--tcp-recbuf: '64k' is not a whole number");
}

TEST(Options, VersionPrintsAndExits) {
    testing::internal::CaptureStdout();
    const Parsed parsed = parse({"--version"});
    const std::string printed = testing::internal::GetCapturedStdout();
    EXPECT_EQ(parsed.outcome, ParseOutcome::exit_ok);
    EXPECT_EQ(printed, "lepusd " + std::string(lepus_version) + "\n");
}

TEST(Options, ConfigFileSetsEveryKey) {
    const ConfigFile file(
        "# a comment\n"
        "\n"
        "   # an indented comment\n"
        "listen = [::1]:6000\n"
        "data_dir=/var/lib/lepus\n"
        "shards = 4\n"
        "heartbeat = 30\n"
        "frame_max = 65536\n"
        "channel_max = 128\n"
        "log_level = warning\n"
        "handshake_timeout_ms = 500\n"
        "default_user = admin\n"
        "default_password = s3cret # kept\r\n"
        "loopback_users_only = false\n"
        "vhosts = /, staging , prod\n");
    const Parsed parsed = parse({"--config", file.path()});
    ASSERT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
    const Options& o = parsed.options;
    EXPECT_EQ(o.config_file, file.path());
    EXPECT_EQ(o.listen_host, "::1");
    EXPECT_EQ(o.listen_port, 6000);
    EXPECT_EQ(o.data_dir, "/var/lib/lepus");
    EXPECT_EQ(o.shards, 4u);
    EXPECT_EQ(o.heartbeat_s, 30u);
    EXPECT_EQ(o.frame_max, 65536u);
    EXPECT_EQ(o.channel_max, 128);
    EXPECT_EQ(o.log_level, "warning");
    EXPECT_EQ(o.handshake_timeout_ms, 500u);
    EXPECT_EQ(o.default_user, "admin");
    EXPECT_EQ(o.default_password, "s3cret # kept");  // '#' starts a comment only at line start
    EXPECT_FALSE(o.loopback_users_only);
    EXPECT_EQ(o.vhosts, (std::vector<std::string>{"/", "staging", "prod"}));
}

// rabbitmq.conf's keys for the default user and vhost and the loopback rule.
TEST(Options, RabbitMQAccessKeys) {
    const ConfigFile file(
        "default_user = app\n"
        "default_pass = s3cret\n"
        "default_vhost = appvh\n"
        "default_user_tags.administrator = false\n"
        "loopback_users.guest = false\n");
    const Parsed parsed = parse({"--config", file.path()});
    ASSERT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
    const Options& o = parsed.options;
    EXPECT_EQ(o.default_user, "app");
    EXPECT_EQ(o.default_password, "s3cret");
    EXPECT_EQ(o.vhosts, std::vector<std::string>{"appvh"});
    EXPECT_TRUE(o.default_user_tags.empty());
    EXPECT_TRUE(o.loopback_users.empty());
    EXPECT_TRUE(o.session_settings().loopback_users.empty());

    Options defaults;
    EXPECT_EQ(defaults.default_user_tags, std::vector<std::string>{"administrator"});
    EXPECT_EQ(defaults.session_settings().loopback_users, std::vector<std::string>{"guest"});
    defaults.loopback_users_only = false;  // the older key lifts the rule for everyone
    EXPECT_TRUE(defaults.session_settings().loopback_users.empty());

    const ConfigFile none("loopback_users = none\n");
    const Parsed lifted = parse({"--config", none.path()});
    ASSERT_EQ(lifted.outcome, ParseOutcome::run) << lifted.error;
    EXPECT_TRUE(lifted.options.loopback_users.empty());
    const ConfigFile bad("loopback_users = guest\n");
    EXPECT_EQ(parse({"--config", bad.path()}).outcome, ParseOutcome::error);
}

TEST(Options, LoadConfigFileDirectly) {
    const ConfigFile file("loopback_users_only = true\nshards = 2\n");
    Options options;
    options.loopback_users_only = false;
    std::string error;
    ASSERT_TRUE(load_config_file(file.path(), options, error)) << error;
    EXPECT_TRUE(options.loopback_users_only);
    EXPECT_EQ(options.shards, 2u);
}

TEST(Options, EmptyConfigFileKeepsDefaults) {
    const ConfigFile file("");
    const Parsed parsed = parse({"--config=" + file.path()});
    ASSERT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
    EXPECT_EQ(parsed.options.shards, 0u);
    EXPECT_EQ(parsed.options.listen_port, 5672);
}

TEST(Options, FlagsWinOverTheFileWhateverTheOrder) {
    const ConfigFile file("shards = 4\nheartbeat = 30\nlisten = 127.0.0.1:6000\n");
    for (const bool config_first : {true, false}) {
        const Parsed parsed = config_first ? parse({"--config", file.path(), "--shards", "2"})
                                           : parse({"--shards", "2", "--config", file.path()});
        ASSERT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
        EXPECT_EQ(parsed.options.shards, 2u);        // the flag
        EXPECT_EQ(parsed.options.heartbeat_s, 30u);  // the file
        EXPECT_EQ(parsed.options.listen_port, 6000);
    }
}

TEST(Options, UnknownFlag) { expect_error({"--bogus", "1"}, "unknown flag '--bogus'"); }

TEST(Options, UnexpectedPositionalArgument) {
    expect_error({"extra"}, "unexpected argument 'extra'");
}

TEST(Options, MissingValue) {
    expect_error({"--shards"}, "--shards needs a value");
    expect_error({"--data-dir", "--shards", "2"}, "--data-dir needs a value");
    expect_error({"--config"}, "--config needs a value");
}

TEST(Options, HelpAndVersionTakeNoValue) {
    expect_error({"--help=yes"}, "--help takes no value");
    expect_error({"--version=1"}, "--version takes no value");
}

TEST(Options, BadListen) {
    const std::string usage = "--listen: expected HOST:PORT, as 127.0.0.1:5672 or [::1]:5672, got ";
    expect_error({"--listen", "127.0.0.1"}, usage + "'127.0.0.1'");
    expect_error({"--listen", "[::1]"}, usage + "'[::1]'");
    expect_error({"--listen", "[::1:5672"}, usage + "'[::1:5672'");
    expect_error({"--listen", "5672"}, usage + "'5672'");
    expect_error({"--listen", "::g:5672"},
                 "--listen: '::g' is neither an IP address nor a host name");
    expect_error({"--listen", "bad_host:5672"},
                 "--listen: 'bad_host' is neither an IP address nor a host name");
    expect_error({"--listen", "a..b:5672"},
                 "--listen: 'a..b' is neither an IP address nor a host name");
    expect_error({"--listen", ":5672"}, "--listen: '' is neither an IP address nor a host name");
    expect_error({"--listen", "[127.0.0.1]:5672"}, "--listen: '127.0.0.1' is not an IPv6 address");
    expect_error({"--listen", "127.0.0.1:0"}, "--listen: port '0' is below the minimum 1");
    expect_error({"--listen", "127.0.0.1:65536"},
                 "--listen: port '65536' is above the maximum 65535");
    expect_error({"--listen", "127.0.0.1:http"}, "--listen: port 'http' is not a whole number");
}

TEST(Options, ListenTakesHostNamesAndUnbracketedIpv6) {
    Parsed parsed = parse({"--listen", "localhost:5673"});
    ASSERT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
    EXPECT_EQ(parsed.options.listen_host, "localhost");
    EXPECT_EQ(parsed.options.listen_port, 5673);
    parsed = parse({"--listen", "::1:5672"});
    ASSERT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
    EXPECT_EQ(parsed.options.listen_host, "::1");
    parsed = parse({"--listen", "broker-1.example.com:5672"});
    ASSERT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
    EXPECT_EQ(parsed.options.listen_host, "broker-1.example.com");
}

TEST(Options, ListenersAsRabbitmqConfNamesThem) {
    const ConfigFile file(
        "listeners.tcp.default = 127.0.0.1:5700\n"
        "listeners.tcp.1 = 0.0.0.0:5701\n"
        "listeners.tcp.v6 = [::1]:5702\n"
        "listeners.tcp.any = :::5703\n"
        "listeners.tcp.port_only = 5704\n"
        "listeners.ssl.default = 5671\n"
        "listeners.ssl.local = localhost:5705\n"
        "ssl_options.cacertfile = /etc/lepus/ca.pem\n"
        "ssl_options.certfile = /etc/lepus/server.pem\n"
        "ssl_options.keyfile = /etc/lepus/server.key\n"
        "ssl_options.password = secret phrase\n"
        "ssl_options.verify = verify_peer\n"
        "ssl_options.fail_if_no_peer_cert = true\n"
        "ssl_options.versions.1 = tlsv1.3\n"
        "ssl_options.ciphers.1 = TLS_AES_256_GCM_SHA384\n"
        "ssl_options.ciphers.2 = ECDHE-ECDSA-AES256-GCM-SHA384\n"
        "auth_mechanisms.1 = EXTERNAL\n"
        "auth_mechanisms.2 = PLAIN\n");
    const Parsed parsed = parse({"--config", file.path()});
    ASSERT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
    const Options& o = parsed.options;
    std::vector<ListenerSpec> listeners = o.listeners();
    ASSERT_EQ(listeners.size(), 7u);
    auto expect = [&](usize i, const char* key, Transport transport, const char* host, u16 port) {
        EXPECT_EQ(listeners[i].key, key);
        EXPECT_EQ(listeners[i].transport, transport) << key;
        EXPECT_EQ(listeners[i].host, host) << key;
        EXPECT_EQ(listeners[i].port, port) << key;
    };
    expect(0, "listeners.tcp.default", Transport::tcp, "127.0.0.1", 5700);
    expect(1, "listeners.tcp.1", Transport::tcp, "0.0.0.0", 5701);
    expect(2, "listeners.tcp.v6", Transport::tcp, "::1", 5702);
    expect(3, "listeners.tcp.any", Transport::tcp, "::", 5703);
    expect(4, "listeners.tcp.port_only", Transport::tcp, "::", 5704);
    expect(5, "listeners.ssl.default", Transport::tls, "::", 5671);
    expect(6, "listeners.ssl.local", Transport::tls, "localhost", 5705);
    EXPECT_TRUE(o.has_tls_listener());
    EXPECT_EQ(o.tls.cacertfile, "/etc/lepus/ca.pem");
    EXPECT_EQ(o.tls.certfile, "/etc/lepus/server.pem");
    EXPECT_EQ(o.tls.keyfile, "/etc/lepus/server.key");
    EXPECT_EQ(o.tls.password, "secret phrase");
    EXPECT_EQ(o.tls.verify, tls::Verify::peer);
    EXPECT_TRUE(o.tls.fail_if_no_peer_cert);
    EXPECT_EQ(o.tls.versions, tls::version_tls13);
    EXPECT_EQ(o.tls.ciphers, (std::vector<std::string>{"TLS_AES_256_GCM_SHA384",
                                                       "ECDHE-ECDSA-AES256-GCM-SHA384"}));
    EXPECT_EQ(o.session_settings().auth_mechanisms, "EXTERNAL PLAIN");
}

TEST(Options, TlsAndMechanismDefaults) {
    const Parsed parsed = parse({});
    ASSERT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
    const Options& o = parsed.options;
    EXPECT_FALSE(o.has_tls_listener());
    ASSERT_EQ(o.listeners().size(), 1u);
    EXPECT_EQ(o.listeners()[0].key, "listeners.tcp.default");
    EXPECT_EQ(o.tls.verify, tls::Verify::none);
    EXPECT_FALSE(o.tls.fail_if_no_peer_cert);
    EXPECT_EQ(o.tls.versions, tls::versions_all);
    EXPECT_TRUE(o.tls.ciphers.empty());
    EXPECT_EQ(o.session_settings().auth_mechanisms, "PLAIN AMQPLAIN");
}

TEST(Options, TcpListenersNoneLeavesTlsOnly) {
    const ConfigFile file(
        "listeners.tcp = none\n"
        "listeners.tcp.2 = 127.0.0.1:5800\n"
        "listeners.ssl.default = 127.0.0.1:5671\n"
        "ssl_options.certfile = c.pem\n"
        "ssl_options.keyfile = k.pem\n"
        "ssl_options.versions.1 = tlsv1.2\n"
        "ssl_options.versions.2 = tlsv1.3\n");
    const Parsed parsed = parse({"--config", file.path()});
    ASSERT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
    std::vector<ListenerSpec> listeners = parsed.options.listeners();
    ASSERT_EQ(listeners.size(), 1u);
    EXPECT_EQ(listeners[0].transport, Transport::tls);
    EXPECT_EQ(parsed.options.tls.versions, tls::versions_all);
}

TEST(Options, ListenFlagWinsOverListenersTcpDefault) {
    const ConfigFile file("listeners.tcp.default = 127.0.0.1:5700\n");
    const Parsed parsed = parse({"--config", file.path(), "--listen", "127.0.0.1:5900"});
    ASSERT_EQ(parsed.outcome, ParseOutcome::run) << parsed.error;
    EXPECT_EQ(parsed.options.listen_port, 5900);
}

TEST(Options, TlsAndListenerErrors) {
    struct Case {
        std::string text;
        std::string error;  // after "<path>:", or the whole error when it names no line
        bool whole = false;
    };
    const std::string certs = "ssl_options.certfile = c.pem\nssl_options.keyfile = k.pem\n";
    const std::vector<Case> cases = {
        {"listeners.tcp.1 = nowhere\n",
         "1: listeners.tcp.1: expected HOST:PORT, as 127.0.0.1:5672 or [::1]:5672, got "
         "'nowhere'"},
        {"listeners.ssl.default = 127.0.0.1:0\n",
         "1: listeners.ssl.default: port '0' is below the minimum 1"},
        {"listeners.ssl.x = bad_host:5671\n",
         "1: listeners.ssl.x: 'bad_host' is neither an IP address nor a host name"},
        {"listeners.tcp. = 5672\n", "1: unknown key 'listeners.tcp.'"},
        {"listeners.tcp.a b = 5672\n", "1: unknown key 'listeners.tcp.a b'"},
        {"listeners.tcp = 5672\n",
         "1: listeners.tcp: expected none (or listeners.tcp.NAME = HOST:PORT), got '5672'"},
        {"listeners.tcp.1 = 5700\nlisteners.tcp.1 = 5701\n",
         "2: 'listeners.tcp.1' is already set on line 1"},
        {"ssl_options.verify = verify_maybe\n",
         "1: ssl_options.verify: expected verify_peer or verify_none, got 'verify_maybe'"},
        {"ssl_options.fail_if_no_peer_cert = yes\n",
         "1: ssl_options.fail_if_no_peer_cert: expected true or false, got 'yes'"},
        {"ssl_options.versions.1 = tlsv1.1\n",
         "1: ssl_options.versions.1: expected tlsv1.2 or tlsv1.3 (older versions are not "
         "supported), got 'tlsv1.1'"},
        {"ssl_options.ciphers.1 = AES:!aNULL\n",
         "1: ssl_options.ciphers.1: expected an OpenSSL cipher name, as TLS_AES_128_GCM_SHA256 "
         "or ECDHE-RSA-AES128-GCM-SHA256, got 'AES:!aNULL'"},
        {"ssl_options.certfile =\n", "1: ssl_options.certfile: needs a non-empty value"},
        {"ssl_options.keyfile =\n", "1: ssl_options.keyfile: needs a non-empty value"},
        {"ssl_options.cacertfile =\n", "1: ssl_options.cacertfile: needs a non-empty value"},
        {"ssl_options.password =\n", "1: ssl_options.password: needs a non-empty value"},
        {"ssl_options.depth = 2\n", "1: unknown key 'ssl_options.depth'"},
        {"auth_mechanisms.1 = CRAM-MD5\n",
         "1: auth_mechanisms.1: expected PLAIN, AMQPLAIN or EXTERNAL, got 'CRAM-MD5'"},
        {"auth_mechanisms.1 = PLAIN\nauth_mechanisms.2 = PLAIN\n",
         "2: auth_mechanisms.2: 'PLAIN' is listed twice"},
        {"listeners.ssl.default = 5671\n",
         "a TLS listener (listeners.ssl) needs ssl_options.certfile and ssl_options.keyfile", true},
        {"listeners.ssl.default = 5671\nssl_options.certfile = c.pem\n",
         "a TLS listener (listeners.ssl) needs ssl_options.certfile and ssl_options.keyfile", true},
        {certs + "listeners.ssl.default = 5671\nssl_options.verify = verify_peer\n",
         "ssl_options.verify = verify_peer needs ssl_options.cacertfile", true},
        {certs + "listeners.ssl.default = 5671\nssl_options.fail_if_no_peer_cert = true\n",
         "ssl_options.fail_if_no_peer_cert = true needs ssl_options.verify = verify_peer", true},
        {"auth_mechanisms.1 = EXTERNAL\n",
         "auth_mechanisms: EXTERNAL needs a TLS listener (listeners.ssl) with "
         "ssl_options.verify = verify_peer",
         true},
        {certs + "listeners.ssl.default = 5671\nauth_mechanisms.1 = EXTERNAL\n",
         "auth_mechanisms: EXTERNAL needs a TLS listener (listeners.ssl) with "
         "ssl_options.verify = verify_peer",
         true},
        {"listeners.tcp = none\n",
         "listeners.tcp = none and no listeners.ssl: lepusd would listen nowhere", true},
        {certs + "listeners.ssl.default = 127.0.0.1:5672\n",
         "listeners.tcp.default and listeners.ssl.default name the same address", true},
    };
    for (const Case& c : cases) {
        const ConfigFile file(c.text);
        const Parsed parsed = parse({"--config", file.path()});
        EXPECT_EQ(parsed.outcome, ParseOutcome::error) << c.text;
        EXPECT_EQ(parsed.error, c.whole ? c.error : file.path() + ":" + c.error) << c.text;
    }
}

TEST(Options, BadNumbers) {
    expect_error({"--shards", "two"}, "--shards: 'two' is not a whole number");
    expect_error({"--shards", "-1"}, "--shards: '-1' is not a whole number");
    expect_error({"--shards", "+1"}, "--shards: '+1' is not a whole number");
    expect_error({"--shards", " 1"}, "--shards: ' 1' is not a whole number");
    expect_error({"--shards="}, "--shards: '' is not a whole number");
    expect_error({"--shards", "257"}, "--shards: '257' is above the maximum 256");
    expect_error({"--shards", "99999999999999999999999"},
                 "--shards: '99999999999999999999999' is above the maximum 256");
    expect_error({"--heartbeat", "65536"}, "--heartbeat: '65536' is above the maximum 65535");
    expect_error({"--heartbeat", "1.5"}, "--heartbeat: '1.5' is not a whole number");
    expect_error({"--frame-max", "4095"}, "--frame-max: '4095' is below the minimum 4096");
    expect_error({"--frame-max", "131073"}, "--frame-max: '131073' is above the maximum 131072");
    expect_error({"--frame-max", "128k"}, "--frame-max: '128k' is not a whole number");
    expect_error({"--channel-max", "0"}, "--channel-max: '0' is below the minimum 1");
    expect_error({"--channel-max", "65536"}, "--channel-max: '65536' is above the maximum 65535");
}

TEST(Options, BadStrings) {
    expect_error({"--data-dir="}, "--data-dir: needs a non-empty value");
    expect_error({"--log-level", "trace"},
                 "--log-level: expected error, warning, info or debug, got 'trace'");
}

TEST(Options, UnreadableConfigFile) {
    expect_error({"--config", "/nonexistent/lepusd.conf"},
                 "/nonexistent/lepusd.conf: cannot open: No such file or directory");
    expect_error({"--config="}, "--config needs a non-empty value");
}

TEST(Options, ConfigFileErrorsNameFileAndLine) {
    struct Case {
        std::string text;
        std::string error;  // after "<path>:"
    };
    const std::vector<Case> cases = {
        {"shards = 2\nbogus = 1\n", "2: unknown key 'bogus'"},
        {"# ok\nshards 2\n", "2: expected 'key = value', got 'shards 2'"},
        {"= 2\n", "1: unknown key ''"},
        {"config = other.conf\n", "1: unknown key 'config'"},
        {"data-dir = /x\n", "1: unknown key 'data-dir'"},
        {"shards = 2\nshards = 3\n", "2: 'shards' is already set on line 1"},
        {"shards = many\n", "1: shards: 'many' is not a whole number"},
        {"listen = nowhere\n",
         "1: listen: expected HOST:PORT, as 127.0.0.1:5672 or [::1]:5672, got 'nowhere'"},
        {"data_dir =\n", "1: data_dir: needs a non-empty value"},
        {"heartbeat = 70000\n", "1: heartbeat: '70000' is above the maximum 65535"},
        {"frame_max = 1024\n", "1: frame_max: '1024' is below the minimum 4096"},
        {"channel_max = 0\n", "1: channel_max: '0' is below the minimum 1"},
        {"log_level = loud\n", "1: log_level: expected error, warning, info or debug, got 'loud'"},
        {"handshake_timeout_ms = 10\n", "1: handshake_timeout_ms: '10' is below the minimum 100"},
        {"handshake_timeout_ms = 600001\n",
         "1: handshake_timeout_ms: '600001' is above the maximum 600000"},
        {"default_user =\n", "1: default_user: needs a non-empty value"},
        {"default_user = " + std::string(256, 'u') + "\n",
         "1: default_user: is longer than 255 bytes"},
        {"default_password =   \n", "1: default_password: needs a non-empty value"},
        {"loopback_users_only = yes\n",
         "1: loopback_users_only: expected true or false, got 'yes'"},
        {"vhosts =\n", "1: vhosts: an empty vhost name in the list"},
        {"vhosts = /,,a\n", "1: vhosts: an empty vhost name in the list"},
        {"vhosts = a, a\n", "1: vhosts: vhost 'a' is listed twice"},
        {"vhosts = " + std::string(256, 'v') + "\n", "1: vhosts: vhost name longer than 255 bytes"},
        {"shards = 1\n" + std::string(5000, '#') + "\n", "2: line longer than 4096 bytes"},
    };
    for (const Case& c : cases) {
        const ConfigFile file(c.text);
        const Parsed parsed = parse({"--config", file.path()});
        EXPECT_EQ(parsed.outcome, ParseOutcome::error) << c.text;
        EXPECT_EQ(parsed.error, file.path() + ":" + c.error) << c.text;
    }
}

TEST(Options, ConfigFileErrorWinsOverGoodFlags) {
    const ConfigFile file("shards = lots\n");
    const Parsed parsed = parse({"--shards", "2", "--config", file.path()});
    EXPECT_EQ(parsed.outcome, ParseOutcome::error);
    EXPECT_EQ(parsed.error, file.path() + ":1: shards: 'lots' is not a whole number");
}

TEST(Options, ConfigFileWithTooManyLines) {
    std::string text;
    for (usize i = 0; i <= config_lines_max; ++i) text += "# line\n";
    const ConfigFile file(text);
    const Parsed parsed = parse({"--config", file.path()});
    EXPECT_EQ(parsed.outcome, ParseOutcome::error);
    EXPECT_EQ(parsed.error, file.path() + ":10001: more than 10000 lines");
}

TEST(Options, ConfigFileThatIsADirectory) {
    const ConfigFile file("");
    const std::string dir = std::filesystem::path(file.path()).parent_path().string();
    const Parsed parsed = parse({"--config", dir});
    EXPECT_EQ(parsed.outcome, ParseOutcome::error);
    EXPECT_EQ(parsed.error, dir + ": cannot open: Is a directory");
}

TEST(Options, ExampleConfigFileLoads) {
    // tests/net/options_test.cc -> the repository root.
    const std::filesystem::path root =
        std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
    const std::string path = (root / "docs" / "lepusd.conf.example").string();
    Options options;
    std::string error;
    ASSERT_TRUE(load_config_file(path, options, error)) << error;
}

}  // namespace
}  // namespace lepus::server
