#include "net/server/server.h"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/base/log.h"
#include "net/server/shard.h"
#include "tuning/core_plan.h"

namespace lepus::server {

namespace {

// Start-up handshake between main and the shard threads: each reports its init result.
struct StartGate {
    std::mutex mutex;
    std::condition_variable changed;
    u32 reported = 0;
    std::string first_error;
};

std::string prepare_data_dir(const std::string& path) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return "cannot create data directory '" + path + "': " + ec.message();
    if (access(path.c_str(), W_OK) != 0) {
        return "data directory '" + path + "' is not writable: " + std::strerror(errno);
    }
    return {};
}

}  // namespace

int run_server(const Options& options) {
    std::string data_dir = options.data_dir.empty() ? std::string(data_dir_default)
                                                    : options.data_dir;
    if (std::string error = prepare_data_dir(data_dir); !error.empty()) {
        LEPUS_LOG(error, "%s", error.c_str());
        return 1;
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

    ShardGrid grid(shard_count);
    std::vector<std::unique_ptr<Shard>> shards;
    for (u32 i = 0; i < shard_count; i++) {
        shards.push_back(std::make_unique<Shard>(ShardId(i), grid, options));
    }
    StartGate gate;
    std::vector<std::thread> threads;
    for (u32 i = 0; i < shard_count; i++) {
        threads.emplace_back([&, i] {
            std::string pin_error = tuning::pin_current_thread(cpus[i]);
            std::string error = shards[i]->init();
            if (!pin_error.empty()) {
                LEPUS_LOG(warning, "shard %u not pinned to CPU %d: %s", i, cpus[i],
                          pin_error.c_str());
            }
            {
                std::lock_guard lock(gate.mutex);
                gate.reported++;
                if (!error.empty() && gate.first_error.empty()) gate.first_error = error;
            }
            gate.changed.notify_all();
            {
                std::unique_lock lock(gate.mutex);
                gate.changed.wait(lock, [&] {
                    return gate.reported == shard_count || !gate.first_error.empty();
                });
                if (!gate.first_error.empty()) return;
            }
            shards[i]->run();
        });
    }
    {
        std::unique_lock lock(gate.mutex);
        gate.changed.wait(lock, [&] { return gate.reported == shard_count; });
    }
    if (!gate.first_error.empty()) {
        LEPUS_LOG(error, "start-up failed: %s", gate.first_error.c_str());
        for (auto& t : threads) t.join();
        return 1;
    }
    std::string cpu_list;
    for (int cpu : cpus) {
        if (!cpu_list.empty()) cpu_list.push_back(',');
        cpu_list.append(std::to_string(cpu));
    }
    LEPUS_LOG(info, "Lepus %s listening on %s:%u with %u shards (CPUs %s), data directory %s",
              std::string(lepus_version).c_str(), options.listen_host.c_str(),
              options.listen_port, shard_count, cpu_list.c_str(), data_dir.c_str());

    for (;;) {
        int signal_number = 0;
        if (sigwait(&signals, &signal_number) != 0) continue;
        if (signal_number == SIGHUP) {
            LEPUS_LOG(info, "SIGHUP ignored: settings are read at start-up");
            continue;
        }
        LEPUS_LOG(info, "received %s, closing connections and stopping",
                  signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
    }
    for (auto& shard : shards) shard->request_stop();
    for (auto& t : threads) t.join();
    shards.clear();
    LEPUS_LOG(info, "stopped");
    return 0;
}

}  // namespace lepus::server
