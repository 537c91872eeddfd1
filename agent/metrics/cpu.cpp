#include "agent/metrics/cpu.hpp"

#include <limits>
#include <unordered_map>

#include "agent/metrics/rate.hpp"
#include "agent/metrics/text_fields.hpp"

namespace corvid::agent::metrics {
namespace {

std::optional<cpu_times> parse_times(const std::vector<std::string_view>& fields)
{
    // fields[0] is the label; then user nice system idle [iowait irq softirq steal [guest [guest_nice]]]
    if (fields.size() < 5)
        return std::nullopt;
    std::uint64_t v[8] = {};
    for (std::size_t i = 1; i < fields.size(); ++i) {
        const auto n = parse_u64(fields[i]);
        if (!n)
            return std::nullopt;
        if (i <= 8)
            v[i - 1] = *n;
    }
    return cpu_times{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
}

// Tick deltas as doubles: their sum cannot overflow, whatever the input said.
struct interval {
    double user, nice, system, idle, iowait, irq, softirq, steal;
    double total() const { return user + nice + system + idle + iowait + irq + softirq + steal; }
    double busy() const { return user + nice + system + irq + softirq + steal; }
};

double grew(std::uint64_t prev, std::uint64_t cur) { return cur >= prev ? static_cast<double>(cur - prev) : 0.0; }

interval between(const cpu_times& a, const cpu_times& b)
{
    return {grew(a.user, b.user),     grew(a.nice, b.nice),       grew(a.system, b.system),
            grew(a.idle, b.idle),     grew(a.iowait, b.iowait),   grew(a.irq, b.irq),
            grew(a.softirq, b.softirq), grew(a.steal, b.steal)};
}

// Finds the earlier reading of core `id`. Usually the CPUs and their order are unchanged and the
// core sits at the same index; after a hotplug we fall back to an index built once.
class core_lookup {
public:
    explicit core_lookup(const proc_stat& s) : s_(s) {}

    const cpu_times* find(std::size_t hint, std::uint32_t id)
    {
        if (hint < s_.cores.size() && s_.cores[hint].id == id)
            return &s_.cores[hint].times;
        if (!built_) {
            for (const auto& c : s_.cores)
                by_id_.emplace(c.id, &c.times); // a duplicate id keeps its first line
            built_ = true;
        }
        const auto it = by_id_.find(id);
        return it == by_id_.end() ? nullptr : it->second;
    }

private:
    const proc_stat& s_;
    std::unordered_map<std::uint32_t, const cpu_times*> by_id_;
    bool built_ = false;
};

} // namespace

std::optional<proc_stat> parse_proc_stat(std::string_view text)
{
    proc_stat out;
    bool have_all = false;
    std::string_view line;
    while (next_line(text, line)) {
        if (!line.starts_with("cpu"))
            continue; // intr, ctxt, btime, ...: not ours
        const auto fields = split_fields(line);
        const auto times = parse_times(fields);
        if (!times)
            return std::nullopt;
        const auto label = fields[0];
        if (label == "cpu") {
            if (have_all)
                return std::nullopt;
            out.all = *times;
            have_all = true;
            continue;
        }
        const auto id = parse_u64(label.substr(3));
        if (!id || *id > std::numeric_limits<std::uint32_t>::max())
            return std::nullopt;
        out.cores.push_back({static_cast<std::uint32_t>(*id), *times});
    }
    if (!have_all)
        return std::nullopt;
    return out;
}

double busy_percent(const cpu_times& prev, const cpu_times& cur)
{
    const auto d = between(prev, cur);
    return percent_of(d.busy(), d.total());
}

proto::cpu_stats cpu_usage(const proc_stat& prev, const proc_stat& cur)
{
    proto::cpu_stats out;
    const auto d = between(prev.all, cur.all);
    const double total = d.total();
    out.user = percent_of(d.user + d.nice, total);
    out.system = percent_of(d.system + d.irq + d.softirq, total);
    out.iowait = percent_of(d.iowait, total);
    out.steal = percent_of(d.steal, total);
    out.cores.reserve(cur.cores.size());
    core_lookup earlier(prev);
    for (std::size_t i = 0; i < cur.cores.size(); ++i) {
        const auto& core = cur.cores[i];
        const auto* before = earlier.find(i, core.id);
        out.cores.push_back(before ? busy_percent(*before, core.times) : 0.0);
    }
    return out;
}

} // namespace corvid::agent::metrics
