#pragma once
// The sampler's machinery with its two ties to the world outside /proc and /sys passed in:
// statvfs(2), and the monotonic clock rates are measured against. metrics_sampler (sampler.hpp)
// is a sampler_core with the real ones; tests pass fakes so that disk numbers and rates come out
// exact without sleeping. Defined in sampler.cpp, next to the collector registry.
// Not thread-safe: one sampler_core belongs to one thread. sample() blocks (file reads, statvfs).
#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "agent/metrics/disk_usage.hpp"
#include "agent/metrics/sampler.hpp"
#include "proto/messages.hpp"

namespace corvid::agent {

struct sampler_hooks {
    // statvfs(2) of a mount point, called with the path from the mounts file.
    std::function<boost::system::result<metrics::fs_space>(const std::string& mount_point)> statvfs;
    // Read once per sample; rates are bytes over the time between two samples on this clock.
    // An empty function in either place means the real one.
    std::function<std::chrono::steady_clock::time_point()> now;
};

// The real statvfs(2) and std::chrono::steady_clock.
sampler_hooks system_hooks();

class sampler_core {
public:
    sampler_core(sampler_options options, sampler_hooks hooks);
    ~sampler_core();
    sampler_core(const sampler_core&) = delete;
    sampler_core& operator=(const sampler_core&) = delete;

    // As metrics_sampler::sample.
    proto::sample_data sample(std::int64_t timestamp_ms);

private:
    struct state;
    std::unique_ptr<state> state_;
};

} // namespace corvid::agent
