#pragma once
// Which CPU runs which shard. Shards are pinned so a shard's memory and its io_uring stay warm
// in one core's caches; the plan takes the CPUs this process may use (taskset, cgroups) and
// gives each shard its own, in order.
#include <string>
#include <vector>

#include "core/base/types.h"

namespace lepus::tuning {

// The CPUs this process may run on, in ascending order.
std::vector<int> allowed_cpus();
// One CPU per shard; shards beyond the CPU count share CPUs round-robin.
std::vector<int> plan_shard_cpus(u32 shard_count);
// Pins the calling thread; returns "" or the reason it could not.
std::string pin_current_thread(int cpu);

}  // namespace lepus::tuning
