#pragma once
// Disk throughput from /proc/diskstats: the parser, the choice of devices, and bytes per second
// between two readings. Pure functions; safe from any thread.
//
// Reported by default: whole disks (those with a /sys/block/<name> entry; partitions have none)
// except loop, ram and zram devices, whose I/O is memory or another disk's I/O counted again.
// A device named in the sampler's disk_io_include is reported whatever it is.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/messages.hpp"

namespace corvid::agent::metrics {

struct disk_counters {
    std::string device;
    std::uint64_t sectors_read = 0, sectors_written = 0; // always 512-byte units, whatever the disk
    bool operator==(const disk_counters&) const = default;
};

// One entry per line: "major minor name" then at least the 11 classic statistics (newer kernels
// add discard and flush columns, which are ignored). nullopt on any line in another shape. An
// empty file is an empty list: a machine can have no block devices.
std::optional<std::vector<disk_counters>> parse_diskstats(std::string_view text);

// The name of a device's directory under /sys/block: the kernel writes '/' in names as '!'
// ("cciss/c0d0" is /sys/block/cciss!c0d0). Empty for a name that cannot be a directory (".", "..").
std::string sys_block_name(std::string_view device);

// loopN, ramN, zramN.
bool is_virtual_disk(std::string_view device);

// The devices reported (see above), in file order. `is_whole_disk` says whether a name has a
// /sys/block entry.
std::vector<disk_counters> select_disks(std::vector<disk_counters> all,
                                        const std::function<bool(std::string_view)>& is_whole_disk,
                                        const std::vector<std::string>& include);

// Bytes per second over `elapsed_s`, one entry per device in `cur`; a device without an earlier
// reading reads 0. Counters that went backwards follow counter_delta (rate.hpp).
std::vector<proto::disk_io> disk_rates(const std::vector<disk_counters>& prev, const std::vector<disk_counters>& cur,
                                       double elapsed_s);

} // namespace corvid::agent::metrics
