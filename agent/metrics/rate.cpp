#include "agent/metrics/rate.hpp"

#include <algorithm>
#include <cmath>

namespace corvid::agent::metrics {

std::uint64_t counter_delta(std::uint64_t prev, std::uint64_t cur)
{
    constexpr std::uint64_t u32_span = std::uint64_t{1} << 32;
    if (cur >= prev)
        return cur - prev;
    if (prev < u32_span)
        return (u32_span - prev) + cur; // cur < prev < 2^32, so this stays below 2^32
    return cur;
}

double per_second(std::uint64_t delta, double elapsed_s)
{
    if (!std::isfinite(elapsed_s) || elapsed_s <= 0)
        return 0;
    const double rate = static_cast<double>(delta) / elapsed_s;
    return std::isfinite(rate) ? rate : 0;
}

double percent_of(double part, double whole)
{
    if (!std::isfinite(whole) || whole <= 0)
        return 0;
    return clamp_percent(part / whole * 100.0);
}

double clamp_percent(double value)
{
    if (std::isnan(value))
        return 0;
    return std::clamp(value, 0.0, 100.0);
}

} // namespace corvid::agent::metrics
