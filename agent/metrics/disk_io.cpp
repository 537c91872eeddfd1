#include "agent/metrics/disk_io.hpp"

#include <algorithm>
#include <unordered_map>

#include "agent/metrics/rate.hpp"
#include "agent/metrics/text_fields.hpp"

namespace corvid::agent::metrics {
namespace {

constexpr std::uint64_t sector_bytes = 512; // the kernel's unit in diskstats, not the disk's sector size

bool is_name_then_digits(std::string_view device, std::string_view prefix)
{
    if (!device.starts_with(prefix) || device.size() == prefix.size())
        return false;
    const auto rest = device.substr(prefix.size());
    return std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; });
}

double bytes_per_second(std::uint64_t prev_sectors, std::uint64_t cur_sectors, double elapsed_s)
{
    // As a double: a sector count times 512 can pass 2^64 on garbage input; a rate cannot matter that much.
    return per_second(counter_delta(prev_sectors, cur_sectors), elapsed_s) * static_cast<double>(sector_bytes);
}

} // namespace

std::optional<std::vector<disk_counters>> parse_diskstats(std::string_view text)
{
    // major minor name reads reads_merged sectors_read ms_reading writes writes_merged sectors_written ...
    std::vector<disk_counters> out;
    std::string_view line;
    while (next_line(text, line)) {
        const auto fields = split_fields(line);
        if (fields.empty())
            continue;
        if (fields.size() < 14)
            return std::nullopt;
        if (!parse_u64(fields[0]) || !parse_u64(fields[1]))
            return std::nullopt;
        std::uint64_t stat[11];
        for (std::size_t i = 0; i < 11; ++i) {
            const auto n = parse_u64(fields[3 + i]);
            if (!n)
                return std::nullopt;
            stat[i] = *n;
        }
        out.push_back({std::string(fields[2]), stat[2], stat[6]});
    }
    return out;
}

std::string sys_block_name(std::string_view device)
{
    if (device.empty() || device == "." || device == "..")
        return {};
    std::string out(device);
    std::replace(out.begin(), out.end(), '/', '!');
    return out;
}

bool is_virtual_disk(std::string_view device)
{
    return is_name_then_digits(device, "loop") || is_name_then_digits(device, "ram")
        || is_name_then_digits(device, "zram");
}

std::vector<disk_counters> select_disks(std::vector<disk_counters> all,
                                        const std::function<bool(std::string_view)>& is_whole_disk,
                                        const std::vector<std::string>& include)
{
    const auto reported = [&](const disk_counters& d) {
        if (std::find(include.begin(), include.end(), d.device) != include.end())
            return true;
        return !is_virtual_disk(d.device) && is_whole_disk(d.device);
    };
    std::erase_if(all, [&](const disk_counters& d) { return !reported(d); });
    return all;
}

std::vector<proto::disk_io> disk_rates(const std::vector<disk_counters>& prev, const std::vector<disk_counters>& cur,
                                       double elapsed_s)
{
    std::unordered_map<std::string_view, const disk_counters*> before;
    for (const auto& d : prev)
        before.emplace(d.device, &d);
    std::vector<proto::disk_io> out;
    out.reserve(cur.size());
    for (const auto& d : cur) {
        proto::disk_io io;
        io.device = d.device;
        if (const auto it = before.find(d.device); it != before.end()) {
            io.read_bytes_per_s = bytes_per_second(it->second->sectors_read, d.sectors_read, elapsed_s);
            io.write_bytes_per_s = bytes_per_second(it->second->sectors_written, d.sectors_written, elapsed_s);
        }
        out.push_back(std::move(io));
    }
    return out;
}

} // namespace corvid::agent::metrics
