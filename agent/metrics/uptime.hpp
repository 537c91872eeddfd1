#pragma once
// Time since boot from /proc/uptime. Pure function; safe from any thread.
#include <cstdint>
#include <optional>
#include <string_view>

namespace corvid::agent::metrics {

// Whole seconds since boot: the first field ("12345.67"), rounded down. nullopt unless it is a
// finite number >= 0 that fits. The second field (idle time summed over CPUs) is not used.
std::optional<std::uint64_t> parse_uptime(std::string_view text);

} // namespace corvid::agent::metrics
