#pragma once
// Load averages from /proc/loadavg. Pure function; safe from any thread.
#include <array>
#include <optional>
#include <string_view>

namespace corvid::agent::metrics {

// The 1, 5 and 15 minute load averages: the first three fields, each a finite number >= 0.
// nullopt otherwise. The rest of the line (running/total tasks, last pid) is not used.
std::optional<std::array<double, 3>> parse_loadavg(std::string_view text);

} // namespace corvid::agent::metrics
