#include "tuning/core_plan.h"

#include <pthread.h>
#include <sched.h>

#include <cstring>

namespace lepus::tuning {

std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<int> cpus;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return {0};
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
    if (cpus.empty()) cpus.push_back(0);
    return cpus;
}

std::vector<int> plan_shard_cpus(u32 shard_count) {
    std::vector<int> cpus = allowed_cpus();
    std::vector<int> plan;
    for (u32 i = 0; i < shard_count; i++) plan.push_back(cpus[i % cpus.size()]);
    return plan;
}

std::string pin_current_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    if (rc != 0) return std::strerror(rc);
    return {};
}

}  // namespace lepus::tuning
