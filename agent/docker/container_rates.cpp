#include "agent/docker/container_rates.hpp"

namespace corvid::agent::docker {

bool has_live_stats(std::string_view state) { return state == "running" || state == "paused"; }

namespace {
std::optional<double> per_second(std::optional<std::uint64_t> now, std::optional<std::uint64_t> before, double seconds)
{
    if (!now || !before || *now < *before || seconds <= 0.0)
        return std::nullopt;
    return static_cast<double>(*now - *before) / seconds;
}

std::optional<double> cpu_percent(const stats_reading& now, const stats_reading& before)
{
    if (!now.cpu_total_ns || !before.cpu_total_ns || !now.system_cpu_ns || !before.system_cpu_ns || !now.online_cpus)
        return std::nullopt;
    if (*now.cpu_total_ns < *before.cpu_total_ns || *now.system_cpu_ns <= *before.system_cpu_ns)
        return std::nullopt;
    const double cpu = static_cast<double>(*now.cpu_total_ns - *before.cpu_total_ns);
    const double system = static_cast<double>(*now.system_cpu_ns - *before.system_cpu_ns);
    return cpu / system * static_cast<double>(*now.online_cpus) * 100.0;
}
} // namespace

std::vector<proto::container_stats> container_rates::update(const std::vector<container_reading>& readings)
{
    std::vector<proto::container_stats> out;
    out.reserve(readings.size());
    std::unordered_map<std::string, previous> next;
    for (const auto& r : readings) {
        proto::container_stats c;
        c.id = r.entry.id;
        c.name = r.entry.name;
        c.image = r.entry.image;
        c.state = r.entry.state;
        c.status = r.entry.status;
        const auto prev = previous_.find(r.entry.id);
        const bool have_prev = prev != previous_.end();
        if (r.stats) {
            const auto& s = *r.stats;
            c.memory_bytes = s.memory_bytes;
            c.memory_limit_bytes = s.memory_limit_bytes;
            if (have_prev) {
                const double seconds = std::chrono::duration<double>(r.read_at - prev->second.at).count();
                c.cpu_percent = cpu_percent(s, prev->second.stats);
                c.rx_bytes_per_s = per_second(s.rx_bytes, prev->second.stats.rx_bytes, seconds);
                c.tx_bytes_per_s = per_second(s.tx_bytes, prev->second.stats.tx_bytes, seconds);
            }
            next.insert_or_assign(r.entry.id, previous{s, r.read_at, c});
        } else if (r.stats_missing && have_prev) {
            // The daemon was too slow for this one: its last values, marked stale. The previous
            // counters stay, so the next rate spans both intervals and is still right.
            c.cpu_percent = prev->second.last.cpu_percent;
            c.memory_bytes = prev->second.last.memory_bytes;
            c.memory_limit_bytes = prev->second.last.memory_limit_bytes;
            c.rx_bytes_per_s = prev->second.last.rx_bytes_per_s;
            c.tx_bytes_per_s = prev->second.last.tx_bytes_per_s;
            c.stale = true;
            next.insert_or_assign(r.entry.id, std::move(prev->second));
        }
        // Not running: no numbers, and its counters are forgotten (they restart with it).
        out.push_back(std::move(c));
    }
    previous_ = std::move(next);
    return out;
}

} // namespace corvid::agent::docker
