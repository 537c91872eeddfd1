#pragma once
// The sample every benchmark sends or stores: the shape of a small real server (4 cores, memory,
// 2 filesystems, 2 block devices, 2 network interfaces), close to tests/golden/metrics_full.json.
// Values move with `n` so rows are not byte-identical (SQLite and the codec see varied numbers).
// Pure; any thread.
#include <cmath>
#include <cstdint>

#include "proto/messages.hpp"

namespace corvid::bench {

inline proto::sample_data realistic_sample(std::int64_t timestamp_ms, std::uint64_t n)
{
    const auto wave = [n](double period, double lo, double hi) {
        return lo + (hi - lo) * (0.5 + 0.5 * std::sin(static_cast<double>(n) / period));
    };
    proto::sample_data s;
    s.timestamp_ms = timestamp_ms;
    s.cpu_percent = wave(7.0, 3.0, 85.0);
    s.memory_percent = wave(31.0, 35.0, 60.0);
    s.load = std::array<double, 3>{wave(5.0, 0.1, 3.5), wave(13.0, 0.2, 2.5), wave(29.0, 0.3, 2.0)};
    s.uptime_s = 86400 + n * 5;
    s.cpu = proto::cpu_stats{wave(7.0, 2.0, 60.0), wave(9.0, 1.0, 20.0), wave(17.0, 0.0, 3.0), 0.25,
                             {wave(3.0, 0, 100), wave(4.0, 0, 100), wave(5.0, 0, 100), wave(6.0, 0, 100)}};
    const auto used = static_cast<std::uint64_t>(wave(31.0, 3.0e9, 5.1e9));
    s.memory = proto::memory_stats{8589934592, used, 8589934592 - used, 2147483648, 0};
    s.disk_usage = {
        {"/", "/dev/vda1", "ext4", 107374182400, 42949672960 + n * 4096, 40.0},
        {"/var/lib/data", "/dev/vdb", "xfs", 536870912000, 134217728000 + n * 65536, 25.0},
    };
    s.disk_io = {
        {"vda", wave(11.0, 0, 5.0e6), wave(3.0, 1.0e4, 2.0e6)},
        {"vdb", wave(19.0, 0, 1.0e7), wave(23.0, 0, 8.0e6)},
    };
    s.network = {
        {"eth0", wave(5.0, 1.0e3, 1.0e6), wave(7.0, 1.0e3, 5.0e5), 987654321 + n * 150000, 123456789 + n * 70000},
        {"eth1", wave(11.0, 0, 1.0e5), wave(13.0, 0, 1.0e5), 1024 + n * 2000, 1024 + n * 2000},
    };
    return s;
}

} // namespace corvid::bench
