#include "agent/metrics/memory.hpp"

#include <algorithm>
#include <limits>

#include "agent/metrics/rate.hpp"
#include "agent/metrics/text_fields.hpp"

namespace corvid::agent::metrics {
namespace {

// "  16318412 kB" -> bytes; nullopt for any other shape or on overflow.
std::optional<std::uint64_t> kb_to_bytes(std::string_view value)
{
    const auto fields = split_fields(value);
    if (fields.size() != 2 || fields[1] != "kB")
        return std::nullopt;
    const auto kb = parse_u64(fields[0]);
    if (!kb || *kb > std::numeric_limits<std::uint64_t>::max() / 1024)
        return std::nullopt;
    return *kb * 1024;
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b)
{
    return a > std::numeric_limits<std::uint64_t>::max() - b ? std::numeric_limits<std::uint64_t>::max() : a + b;
}

} // namespace

std::optional<meminfo> parse_meminfo(std::string_view text)
{
    std::optional<std::uint64_t> total, free, available, buffers, cached, swap_total, swap_free;
    const struct {
        std::string_view key;
        std::optional<std::uint64_t>* into;
    } wanted[] = {
        {"MemTotal", &total},     {"MemFree", &free},        {"MemAvailable", &available},
        {"Buffers", &buffers},    {"Cached", &cached},       {"SwapTotal", &swap_total},
        {"SwapFree", &swap_free},
    };
    std::string_view line;
    while (next_line(text, line)) {
        const auto colon = line.find(':');
        if (colon == std::string_view::npos)
            continue;
        const auto key = line.substr(0, colon);
        for (const auto& w : wanted) {
            if (key != w.key)
                continue;
            if (w.into->has_value())
                return std::nullopt; // the same key twice: not a meminfo we understand
            *w.into = kb_to_bytes(line.substr(colon + 1));
            if (!w.into->has_value())
                return std::nullopt;
        }
    }
    if (!total || *total == 0 || (!available && !free))
        return std::nullopt;
    meminfo m;
    m.total = *total;
    m.free = free.value_or(0);
    m.available = available;
    m.buffers = buffers.value_or(0);
    m.cached = cached.value_or(0);
    m.swap_total = swap_total.value_or(0);
    m.swap_free = swap_free.value_or(0);
    return m;
}

proto::memory_stats memory_usage(const meminfo& m)
{
    const auto estimated = saturating_add(saturating_add(m.free, m.buffers), m.cached);
    const auto available = std::min(m.available.value_or(estimated), m.total);
    proto::memory_stats out;
    out.total_bytes = m.total;
    out.available_bytes = available;
    out.used_bytes = m.total - available;
    out.swap_total_bytes = m.swap_total;
    out.swap_used_bytes = m.swap_total - std::min(m.swap_free, m.swap_total);
    return out;
}

double memory_percent(const proto::memory_stats& m)
{
    return percent_of(static_cast<double>(m.used_bytes), static_cast<double>(m.total_bytes));
}

} // namespace corvid::agent::metrics
