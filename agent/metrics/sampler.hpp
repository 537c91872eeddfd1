#pragma once
// The agent's metric collectors behind one call. Each collector lives in its own file with a pure
// parser over the text of a /proc or /sys file (tested on fixtures under tests/fixtures/); the
// sampler keeps the previous counters that rates and CPU percentages are computed from.
// Not thread-safe: one sampler belongs to one thread. sample() blocks (file reads, statvfs), so
// the agent calls it off the io thread.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "proto/messages.hpp"

namespace corvid::agent {

// Where the host's kernel interfaces are; tests point these at fixture trees.
struct host_paths {
    std::string proc = "/proc";
    std::string sys = "/sys";
};

struct collector_toggles {
    bool cpu = true, memory = true, disk_usage = true, disk_io = true, network = true, load = true, uptime = true;
};

struct sampler_options {
    host_paths paths;
    collector_toggles enabled;
    // Block devices reported even though they are partitions, loop or ram devices ("sda1", "loop0").
    std::vector<std::string> disk_io_include;
    // Interfaces reported even though they are left out by default ("lo").
    std::vector<std::string> network_include;
};

class metrics_sampler {
public:
    explicit metrics_sampler(sampler_options options);
    ~metrics_sampler();
    metrics_sampler(const metrics_sampler&) = delete;
    metrics_sampler& operator=(const metrics_sampler&) = delete;

    // One sample stamped `timestamp_ms`. Rates (CPU percentages, disk and network bytes/s) are
    // relative to the previous call; on the first call they are zero and the counters are primed.
    // A collector that fails leaves its section empty, is logged once when it starts failing and
    // once when it recovers, and does not stop the others.
    proto::sample_data sample(std::int64_t timestamp_ms);

private:
    struct state;
    std::unique_ptr<state> state_;
};

} // namespace corvid::agent
