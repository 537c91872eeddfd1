#include "agent/metrics/network.hpp"

#include <algorithm>
#include <unordered_map>

#include "agent/metrics/rate.hpp"
#include "agent/metrics/text_fields.hpp"

namespace corvid::agent::metrics {

std::optional<std::vector<net_counters>> parse_net_dev(std::string_view text)
{
    // "  eth0: rx_bytes packets errs drop fifo frame compressed multicast tx_bytes packets ..."
    // Interface names cannot hold ':' (the kernel refuses them), so the first ':' ends the name;
    // with large counters there may be no space after it.
    std::vector<net_counters> out;
    std::string_view line;
    while (next_line(text, line)) {
        if (line.find('|') != std::string_view::npos || trim(line).empty())
            continue;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos)
            return std::nullopt;
        const auto name = trim(line.substr(0, colon));
        const auto fields = split_fields(line.substr(colon + 1));
        if (name.empty() || fields.size() < 16)
            return std::nullopt;
        std::uint64_t value[16];
        for (std::size_t i = 0; i < 16; ++i) {
            const auto n = parse_u64(fields[i]);
            if (!n)
                return std::nullopt;
            value[i] = *n;
        }
        out.push_back({std::string(name), value[0], value[8]});
    }
    return out;
}

std::vector<net_counters> select_interfaces(std::vector<net_counters> all, const std::vector<std::string>& include)
{
    std::erase_if(all, [&](const net_counters& n) {
        return n.interface == "lo" && std::find(include.begin(), include.end(), n.interface) == include.end();
    });
    return all;
}

std::vector<proto::network_interface> network_rates(const std::vector<net_counters>& prev,
                                                     const std::vector<net_counters>& cur, double elapsed_s)
{
    std::unordered_map<std::string_view, const net_counters*> before;
    for (const auto& n : prev)
        before.emplace(n.interface, &n);
    std::vector<proto::network_interface> out;
    out.reserve(cur.size());
    for (const auto& n : cur) {
        proto::network_interface ni;
        ni.interface = n.interface;
        ni.rx_bytes_total = n.rx_bytes;
        ni.tx_bytes_total = n.tx_bytes;
        if (const auto it = before.find(n.interface); it != before.end()) {
            const auto& p = *it->second;
            const bool recreated = n.rx_bytes < p.rx_bytes && n.tx_bytes < p.tx_bytes;
            const auto rx = recreated ? n.rx_bytes : counter_delta(p.rx_bytes, n.rx_bytes);
            const auto tx = recreated ? n.tx_bytes : counter_delta(p.tx_bytes, n.tx_bytes);
            ni.rx_bytes_per_s = per_second(rx, elapsed_s);
            ni.tx_bytes_per_s = per_second(tx, elapsed_s);
        }
        out.push_back(std::move(ni));
    }
    return out;
}

} // namespace corvid::agent::metrics
