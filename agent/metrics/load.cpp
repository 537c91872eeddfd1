#include "agent/metrics/load.hpp"

#include "agent/metrics/text_fields.hpp"

namespace corvid::agent::metrics {

std::optional<std::array<double, 3>> parse_loadavg(std::string_view text)
{
    std::string_view line;
    if (!next_line(text, line))
        return std::nullopt;
    const auto fields = split_fields(line);
    if (fields.size() < 3)
        return std::nullopt;
    std::array<double, 3> out{};
    for (std::size_t i = 0; i < 3; ++i) {
        const auto v = parse_double(fields[i]);
        if (!v || *v < 0)
            return std::nullopt;
        out[i] = *v;
    }
    return out;
}

} // namespace corvid::agent::metrics
