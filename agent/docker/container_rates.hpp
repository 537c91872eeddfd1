#pragma once
// Turns one refresh's raw readings (the container list plus one-shot stats counters) into the
// container_stats the agent sends, from the deltas against the previous refresh:
//   cpu_percent = d(cpu_stats.cpu_usage.total_usage) / d(cpu_stats.system_cpu_usage)
//                 * online_cpus * 100          (as `docker stats`: 200% is two busy cores)
//   rx/tx_bytes_per_s = d(sum of networks.*.rx/tx_bytes) / seconds between the two readings
// One-shot stats carry no useful precpu_stats, so the previous reading is ours. A counter that
// went backwards (the container restarted) gives no rate that round. A running container whose
// stats did not arrive in time keeps its last values, marked stale.
// Pure (time is a parameter), no I/O; io thread only like its owner.
#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/docker/docker_json.hpp"
#include "proto/messages.hpp"

namespace corvid::agent::docker {

struct container_reading {
    container_entry entry;
    std::optional<stats_reading> stats;           // absent: not asked (not running) or not answered
    bool stats_missing = false;                   // asked for but no (valid) answer before the deadline
    std::chrono::steady_clock::time_point read_at; // when the stats answer arrived
};

// Whether a container in this state has stats worth asking for.
bool has_live_stats(std::string_view state);

class container_rates {
public:
    std::vector<proto::container_stats> update(const std::vector<container_reading>& readings);
    std::size_t tracked() const { return previous_.size(); }

private:
    struct previous {
        stats_reading stats;
        std::chrono::steady_clock::time_point at;
        proto::container_stats last; // what we reported last, for stale carry-over
    };
    // Pruned to the containers of the latest list on every update, so bounded by max_containers.
    std::unordered_map<std::string, previous> previous_;
};

} // namespace corvid::agent::docker
