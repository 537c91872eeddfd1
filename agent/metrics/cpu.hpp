#pragma once
// CPU time from /proc/stat: the parser, and the percentages over the interval between two
// readings. Pure functions; safe from any thread.
//
// How the kernel's columns are counted (all of them in USER_HZ ticks since boot):
//   - guest and guest_nice are already inside user and nice (since 2.6.24 / 2.6.33), so they
//     are parsed past and never added again;
//   - "user" on the wire is user + nice: user-space time at any priority;
//   - "system" on the wire is system + irq + softirq: time the kernel spent on the CPU;
//   - iowait is idle time with I/O outstanding: it is reported, but it is not busy;
//   - steal is time the hypervisor gave our vCPU to someone else: we could not run, so it is
//     counted as busy (as top and htop do);
//   - busy = user + nice + system + irq + softirq + steal = total - idle - iowait, so on the
//     wire user + system + steal is the busy percent and user + system + iowait + steal <= 100.
// A counter that goes backwards (iowait can, on tickless kernels) counts as 0 for that interval.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "proto/messages.hpp"

namespace corvid::agent::metrics {

struct cpu_times {
    std::uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    bool operator==(const cpu_times&) const = default;
};

struct core_times {
    std::uint32_t id = 0; // N of "cpuN"; offline CPUs are missing, so ids can have gaps
    cpu_times times;
    bool operator==(const core_times&) const = default;
};

struct proc_stat {
    cpu_times all;                 // the "cpu" line: every CPU together
    std::vector<core_times> cores; // the "cpuN" lines, in file order
    bool operator==(const proc_stat&) const = default;
};

// nullopt when there is no "cpu" line, or any cpu line has fewer than 4 numbers or a bad one.
// Columns a newer kernel adds after guest_nice are ignored; ones an older kernel lacks are 0.
std::optional<proc_stat> parse_proc_stat(std::string_view text);

// Busy percent (see above) of the time between two readings of one CPU; 0 when no time passed.
double busy_percent(const cpu_times& prev, const cpu_times& cur);

// The wire's cpu section for the interval between two readings. Cores are matched by id; a core
// without an earlier reading (just came online) reads 0. usage(x, x) is all zeros, with one
// entry per core of x: that is the first sample.
proto::cpu_stats cpu_usage(const proc_stat& prev, const proc_stat& cur);

} // namespace corvid::agent::metrics
