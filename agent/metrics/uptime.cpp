#include "agent/metrics/uptime.hpp"

#include <cmath>

#include "agent/metrics/text_fields.hpp"

namespace corvid::agent::metrics {

std::optional<std::uint64_t> parse_uptime(std::string_view text)
{
    std::string_view line;
    if (!next_line(text, line))
        return std::nullopt;
    const auto fields = split_fields(line);
    if (fields.empty())
        return std::nullopt;
    const auto seconds = parse_double(fields[0]);
    // 2^63 is exact as a double; anything at or above it would not convert.
    if (!seconds || *seconds < 0 || *seconds >= 9223372036854775808.0)
        return std::nullopt;
    return static_cast<std::uint64_t>(std::floor(*seconds));
}

} // namespace corvid::agent::metrics
