#include "net/server/server.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "core/base/log.h"
#include "core/definitions.h"
#include "core/journal_records.h"
#include "net/admin/admin_socket.h"
#include "net/server/boot_definitions.h"
#include "net/server/disk_journal.h"
#include "net/server/listener.h"
#include "net/server/shard.h"
#include "net/tls/context.h"
#include "tuning/core_plan.h"

namespace lepus::server {

namespace {

// The management API's listening socket, bound like the first socket of an AMQP address (no
// other process may share it). Empty on success.
std::string open_management_listener(const HttpListener& listener, int& fd) {
    std::vector<ListenAddress> addresses;
    std::string error = resolve_listeners(
        {ListenerSpec{"management.tcp", Transport::tcp, listener.host, listener.port}}, addresses);
    if (!error.empty()) return error;
    fd = open_first_listener(addresses.front(), error);
    if (fd < 0) return error;
    return {};
}

// Start-up handshake between main and the shard threads: each reports its init result.
struct StartGate {
    std::mutex mutex;
    std::condition_variable changed;
    u32 reported = 0;
    StartError first_error;
};

// Every connection is a descriptor, and the soft limit a shell or service manager hands down
// is usually 1024: far fewer connections than one shard serves. The hard limit is what the
// administrator allows, so lepusd takes all of it. Returns the limit now in force.
u64 raise_open_files_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    rlim_t wanted = limit.rlim_max;
    if (wanted == RLIM_INFINITY) {
        // Linux refuses a soft limit above fs.nr_open, the most a process may have open.
        u64 nr_open = 0;
        std::ifstream("/proc/sys/fs/nr_open") >> nr_open;
        if (nr_open == 0) return limit.rlim_cur;
        wanted = static_cast<rlim_t>(nr_open);
    }
    if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= wanted) return limit.rlim_cur;
    rlimit raised{wanted, limit.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
        LEPUS_LOG(warning, "cannot raise the open-files limit from %llu to %llu: %s",
                  static_cast<unsigned long long>(limit.rlim_cur),
                  static_cast<unsigned long long>(wanted), std::strerror(errno));
        return limit.rlim_cur;
    }
    return wanted;
}

std::string prepare_data_dir(const std::string& path) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return "cannot create data directory '" + path + "': " + ec.message();
    if (::access(path.c_str(), W_OK) != 0) {
        return "data directory '" + path + "' is not writable: " + std::strerror(errno);
    }
    return {};
}

// One broker per data directory: a second one would corrupt the journals. The lock is held
// until the process exits.
std::string lock_data_dir(const std::string& path) {
    std::string lock_path = path + "/lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return "cannot open " + lock_path + ": " + std::strerror(errno);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return "data directory '" + path + "' is in use by another lepusd";
    }
    return {};
}

// Messages live in the journal of their queue's home shard. With fewer shards than the data
// directory was written with, some journals would have no shard to read them.
std::string check_shard_journals(const std::string& path, u32 shard_count) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
        std::string name = entry.path().filename().string();
        if (name.rfind("shard-", 0) != 0) continue;
        u32 index = static_cast<u32>(std::strtoul(name.c_str() + 6, nullptr, 10));
        if (index < shard_count) continue;
        bool empty = std::filesystem::is_empty(entry.path(), ec);
        if (!empty) {
            return "data directory '" + path + "' holds a journal for shard " +
                   std::to_string(index) + "; start with --shards " + std::to_string(index + 1) +
                   " or more so its messages are recovered";
        }
    }
    return {};
}

// Durable state at start-up: the definitions journal is read before any shard starts, so every
// shard restores the same catalog.
struct Recovered {
    std::unique_ptr<DiskJournal> journal;
    std::unique_ptr<core::DefinitionsLog> log;
    core::RecoveredDefinitions definitions;
    u64 epoch = 0;
};

// Recovery reads synchronously, so no ring is needed yet: shard 0 binds the journal to its ring
// when it takes it over, before the first write (the boot record appended here included).
StartError recover_definitions(const Options& options, const std::string& data_dir, u32 shard_count,
                               Recovered& out) {
    out.journal = std::make_unique<DiskJournal>("definitions");
    persist::JournalOptions journal_options;
    journal_options.segment_size = 4u << 20;  // definitions are small; snapshots keep them so
    std::string error = out.journal->open(data_dir + "/definitions", journal_options);
    if (!error.empty()) return error;
    // Every segment read stays until this start's first snapshot is durable: until then those
    // records are the only copy of the definitions. The records are kept until all are read:
    // whether they hold access state decides how they are replayed.
    std::vector<u64> segments;
    std::vector<std::pair<u8, std::string>> records;
    StartError recovered = out.journal->recover(
        [&](u8 kind, u64, const persist::Location& location, std::string_view payload) {
            if (segments.empty() || segments.back() != location.segment) {
                segments.push_back(location.segment);
                out.journal->retain(location.segment);
            }
            records.emplace_back(kind, std::string(payload));
        });
    if (recovered.failed()) return recovered;
    // A data directory written before users and vhosts were definitions has exchanges and
    // queues in the configured vhosts and no access state: it is read with those vhosts and
    // given the default user, as a new one is. One written since starts its definitions with
    // access state (the defaults of its first start, or a snapshot's vhosts and users); until
    // the first snapshot after such an upgrade is on disk, the old records still come first,
    // and are read with the configured vhosts again.
    bool access_state = false;
    bool legacy_first = false;
    bool first = true;
    for (const auto& [kind, payload] : records) {
        if (kind != static_cast<u8>(core::RecordKind::definition)) continue;
        std::optional<core::CatalogUpdate> update = core::decode_definition(payload);
        if (!update) continue;
        bool access = update->index() >= core::CatalogUpdate(core::VhostAdded{}).index();
        if (first) legacy_first = !access;
        first = false;
        if (access) {
            access_state = true;
            break;
        }
    }
    core::DefinitionsReplay replay(!access_state || legacy_first ? options.vhosts
                                                                 : std::vector<std::string>{});
    for (const auto& [kind, payload] : records) replay.record(kind, payload);
    records.clear();
    out.definitions = replay.finish(shard_count);
    out.epoch = out.definitions.epoch + 1;
    out.log = std::make_unique<core::DefinitionsLog>(*out.journal);
    out.log->adopt_recovered(segments);
    out.log->write_boot(out.epoch);
    if (!access_state) {
        // A new data directory (or one from before access state): the default user and vhosts,
        // as RabbitMQ creates them on its first start only. They are written first and are on
        // disk before any client is answered (every reply waits for the definitions journal).
        core::DefaultAccess defaults;
        defaults.user = options.default_user;
        defaults.password = options.default_password;
        defaults.tags = options.default_user_tags;
        defaults.vhosts = options.vhosts;
        core::Catalog empty;
        std::vector<core::CatalogUpdate> created = core::default_definitions(defaults);
        for (const core::CatalogUpdate& update : created) out.log->write(empty, update);
        out.definitions.updates.insert(out.definitions.updates.begin(), created.begin(),
                                       created.end());
        LEPUS_LOG(info, "new data directory: user '%s' and %zu vhost(s) created",
                  defaults.user.c_str(), defaults.vhosts.size());
    }
    if (!out.definitions.updates.empty()) {
        LEPUS_LOG(info, "recovered %zu durable definitions", out.definitions.updates.size());
    }
    return {};
}

// Where to listen, the first socket of each address bound (proof that no one else listens
// there; shard 0 takes them), and with a TLS listener one TLS context per shard (the files are
// read and checked here, so a bad certificate stops start-up before any shard).
std::string prepare_listeners(const Options& options, u32 shard_count,
                              std::vector<ListenAddress>& addresses, std::vector<int>& first_fds,
                              std::vector<std::unique_ptr<tls::Context>>& tls_contexts) {
    if (std::string error = resolve_listeners(options.listeners(), addresses); !error.empty()) {
        return error;
    }
    for (const ListenAddress& address : addresses) {
        std::string error;
        int fd = open_first_listener(address, error);
        if (fd < 0) {
            for (int open : first_fds) ::close(open);
            first_fds.clear();
            return error;
        }
        first_fds.push_back(fd);
    }
    if (!options.has_tls_listener()) return {};
    for (u32 i = 0; i < shard_count; i++) {
        std::string error;
        std::unique_ptr<tls::Context> context = tls::Context::server(options.tls, error);
        if (!context) return "TLS: " + error;
        tls_contexts.push_back(std::move(context));
    }
    return {};
}

}  // namespace

int run_server(const Options& options) {
    u64 open_files_max = raise_open_files_limit();
    std::string data_dir =
        options.data_dir.empty() ? std::string(data_dir_default) : options.data_dir;
    if (std::string error = prepare_data_dir(data_dir); !error.empty()) {
        LEPUS_LOG(error, "%s", error.c_str());
        return exit_status(ExitCode::start_failed);
    }
    nlohmann::json boot_definitions;
    const std::string& definitions_path = options.operations.load_definitions;
    if (!definitions_path.empty()) {
        if (std::string error = read_boot_definitions(definitions_path, boot_definitions);
            !error.empty()) {
            LEPUS_LOG(error, "start-up failed: %s", error.c_str());
            return exit_status(ExitCode::start_failed);
        }
    }
    u32 shard_count = options.shards;
    if (shard_count == 0) shard_count = static_cast<u32>(tuning::allowed_cpus().size());
    std::vector<int> cpus = tuning::plan_shard_cpus(shard_count);

    // Signals are taken by the main thread alone, with sigwait; shards never see them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    for (auto check : {lock_data_dir(data_dir), check_shard_journals(data_dir, shard_count)}) {
        if (!check.empty()) {
            LEPUS_LOG(error, "%s", check.c_str());
            return exit_status(ExitCode::start_failed);
        }
    }
    // After the lock: the socket file of a killed lepusd is ours to replace.
    std::string admin_error;
    int admin_fd = admin::open_admin_socket(data_dir, admin_error);
    if (admin_fd < 0) {
        LEPUS_LOG(error, "%s", admin_error.c_str());
        return exit_status(ExitCode::start_failed);
    }
    std::vector<ListenAddress> addresses;
    std::vector<int> first_fds;  // shard 0's listeners, until it takes them
    std::vector<std::unique_ptr<tls::Context>> tls_contexts;
    if (std::string error =
            prepare_listeners(options, shard_count, addresses, first_fds, tls_contexts);
        !error.empty()) {
        LEPUS_LOG(error, "%s", error.c_str());
        ::close(admin_fd);
        return exit_status(ExitCode::start_failed);
    }

    int management_fd = -1;
    if (options.management.enabled) {
        std::string error = open_management_listener(options.management, management_fd);
        if (!error.empty()) {
            LEPUS_LOG(error, "management API: %s", error.c_str());
            ::close(admin_fd);
            return exit_status(ExitCode::start_failed);
        }
    }

    ShardGrid grid(shard_count);
    Recovered recovered;
    if (StartError error = recover_definitions(options, data_dir, shard_count, recovered);
        error.failed()) {
        LEPUS_LOG(error, "start-up failed: %s", error.reason.c_str());
        return exit_status(error.code);
    }
    std::vector<std::unique_ptr<Shard>> shards;
    for (u32 i = 0; i < shard_count; i++) {
        shards.push_back(std::make_unique<Shard>(ShardId(i), grid, options));
        ShardDurability durability;
        durability.data_dir = data_dir;
        durability.journal_options.segment_size = u64{options.journal_segment_mb} << 20;
        durability.definitions = &recovered.definitions.updates;
        if (i == 0) {
            durability.definitions_journal = recovered.journal.get();
            durability.definitions_log = recovered.log.get();
            durability.queue_id_base = (recovered.epoch << 32) + 1;
        }
        shards.back()->set_durability(std::move(durability));
        if (i == 0) {
            shards.back()->set_admin_socket(admin_fd);
            shards.back()->set_management_socket(management_fd);
        }
        shards.back()->set_listeners(&addresses, i == 0 ? std::move(first_fds) : std::vector<int>{},
                                     tls_contexts.empty() ? nullptr : std::move(tls_contexts[i]));
        if (!definitions_path.empty()) shards.back()->hold_accepts();
    }
    StartGate gate;
    std::vector<std::thread> threads;
    for (u32 i = 0; i < shard_count; i++) {
        threads.emplace_back([&, i] {
            std::string pin_error = tuning::pin_current_thread(cpus[i]);
            StartError error = shards[i]->init();
            if (!pin_error.empty()) {
                LEPUS_LOG(warning, "shard %u not pinned to CPU %d: %s", i, cpus[i],
                          pin_error.c_str());
            }
            {
                std::lock_guard lock(gate.mutex);
                gate.reported++;
                if (error.failed() && !gate.first_error.failed()) gate.first_error = error;
            }
            gate.changed.notify_all();
            {
                std::unique_lock lock(gate.mutex);
                gate.changed.wait(lock, [&] {
                    return gate.reported == shard_count || gate.first_error.failed();
                });
                if (gate.first_error.failed()) return;
            }
            shards[i]->run();
        });
    }
    {
        std::unique_lock lock(gate.mutex);
        gate.changed.wait(lock, [&] { return gate.reported == shard_count; });
    }
    if (gate.first_error.failed()) {
        LEPUS_LOG(error, "start-up failed: %s", gate.first_error.reason.c_str());
        for (auto& t : threads) t.join();
        return exit_status(gate.first_error.code);
    }
    if (!definitions_path.empty()) {
        std::string error =
            import_boot_definitions(admin::admin_socket_path(data_dir), boot_definitions);
        if (!error.empty()) {
            LEPUS_LOG(error, "start-up failed: load_definitions: %s: %s", definitions_path.c_str(),
                      error.c_str());
            for (auto& shard : shards) shard->request_stop();
            for (auto& t : threads) t.join();
            ::unlink(admin::admin_socket_path(data_dir).c_str());
            return exit_status(ExitCode::start_failed);
        }
        LEPUS_LOG(info, "definitions loaded from %s", definitions_path.c_str());
        for (auto& shard : shards) shard->release_accepts();
    }
    std::string cpu_list;
    for (int cpu : cpus) {
        if (!cpu_list.empty()) cpu_list.push_back(',');
        cpu_list.append(std::to_string(cpu));
    }
    std::string listening;
    for (const ListenAddress& address : addresses) {
        if (!listening.empty()) listening += ", ";
        listening += address.text;
        if (address.transport == Transport::tls) listening += " (TLS)";
    }
    LEPUS_LOG(info,
              "Lepus %s listening on %s with %u shards (CPUs %s), open files limit %llu, "
              "data directory %s",
              std::string(lepus_version).c_str(), listening.c_str(), shard_count, cpu_list.c_str(),
              static_cast<unsigned long long>(open_files_max), data_dir.c_str());

    for (;;) {
        int signal_number = 0;
        if (sigwait(&signals, &signal_number) != 0) continue;
        if (signal_number == SIGHUP) {
            // logrotate's postrotate: the log file was moved away, lines go to a new one.
            // Nothing else is reloaded: settings are read at start-up.
            if (std::string error = log::reopen_file(); !error.empty()) {
                LEPUS_LOG(error, "%s", error.c_str());
            }
            LEPUS_LOG(info, "SIGHUP: log file reopened; other settings are read at start-up");
            continue;
        }
        LEPUS_LOG(info, "received %s, closing connections and stopping",
                  signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
    }
    for (auto& shard : shards) shard->request_stop();
    for (auto& t : threads) t.join();
    shards.clear();
    // Nobody answers there any more: lepusctl then says the broker is not running.
    ::unlink(admin::admin_socket_path(data_dir).c_str());
    LEPUS_LOG(info, "stopped");
    return exit_status(ExitCode::ok);
}

}  // namespace lepus::server
