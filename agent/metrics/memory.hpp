#pragma once
// Memory and swap from /proc/meminfo: the parser and the wire's memory section.
// Pure functions; safe from any thread.
#include <cstdint>
#include <optional>
#include <string_view>

#include "proto/messages.hpp"

namespace corvid::agent::metrics {

// The lines we use, converted from kB to bytes.
struct meminfo {
    std::uint64_t total = 0, free = 0, buffers = 0, cached = 0;
    std::optional<std::uint64_t> available; // MemAvailable: missing before Linux 3.14
    std::uint64_t swap_total = 0, swap_free = 0;
    bool operator==(const meminfo&) const = default;
};

// nullopt when MemTotal is missing or 0, when MemAvailable and MemFree are both missing, or when
// a line we use is not "<Key>: <number> kB" or its bytes overflow. Other lines are not looked at,
// so a new kernel adding lines in a new shape does not break us. Missing swap lines read as 0.
std::optional<meminfo> parse_meminfo(std::string_view text);

// used = total - available. Without MemAvailable (old kernel) available is estimated as
// MemFree + Buffers + Cached, as tools did before the kernel gave its own estimate; either way it
// is capped at total. Swap used = SwapTotal - SwapFree, never below 0.
proto::memory_stats memory_usage(const meminfo& m);

// used / total * 100, in 0-100; 0 when total is 0.
double memory_percent(const proto::memory_stats& m);

} // namespace corvid::agent::metrics
