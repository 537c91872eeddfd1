#pragma once
// Space used on the host's real filesystems: the /proc/self/mounts parser, the choice of which
// mounts are disks worth reporting, and the df-style numbers from statvfs(2) results.
// Pure functions; safe from any thread. The statvfs call itself is the sampler's (injectable).
//
// Which mounts are reported:
//   - pseudo and in-memory filesystems never (proc, sysfs, tmpfs, devtmpfs, cgroup, overlay,
//     nsfs, autofs, FUSE, ...); nor read-only images (squashfs, iso9660, erofs), always 100% full;
//   - zfs and btrfs, and network filesystems (nfs, nfs4, cifs, smb3, ceph), always;
//   - anything else only when its device is a block device ("/dev/...");
//   - nothing under a container runtime's state directory (/var/lib/docker, /var/lib/kubelet,
//     ...): those are the containers' views of disks the host already reports;
//   - a mount point mounted over: only the top mount is reachable, so only it is reported;
//   - one mount per device: bind mounts and btrfs subvolumes of one filesystem give the same
//     statvfs numbers, so only the shortest mount path is kept (the first one on a tie).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/messages.hpp"

namespace corvid::agent::metrics {

struct mount_entry {
    std::string device, mount_point, fs_type; // octal escapes ("\040") already decoded
    bool operator==(const mount_entry&) const = default;
};

// What statvfs(2) said about a filesystem; sizes in units of `fragment_size` bytes (f_frsize).
struct fs_space {
    std::uint64_t blocks = 0, blocks_free = 0, blocks_available = 0, fragment_size = 0;
    bool operator==(const fs_space&) const = default;
};

// Decodes the kernel's escapes in a mounts field: a backslash and three octal digits is that byte
// ("\040" space, "\011" tab, "\012" newline, "\134" backslash); anything else is kept as it is.
std::string unescape_mount_field(std::string_view field);

// One entry per line (device, mount point, type, options, ...). nullopt when a line has fewer
// than four fields, or when there is no line at all (every system has a root mount).
std::optional<std::vector<mount_entry>> parse_mounts(std::string_view text);

// The rule for one mount on its own: real filesystem type/device, not a container's.
bool is_reported_filesystem(const mount_entry& m);

// All the rules above, mounts kept in file order.
std::vector<mount_entry> select_reported_mounts(const std::vector<mount_entry>& mounts);

// The wire entry for a mount: total = f_blocks * f_frsize, used = (f_blocks - f_bfree) * f_frsize,
// percent as df computes it, used / (used + f_bavail * f_frsize) * 100, so that space reserved
// for root counts as neither. nullopt for a filesystem of size 0 (nothing to report).
std::optional<proto::disk_usage> disk_usage_of(const mount_entry& m, const fs_space& space);

} // namespace corvid::agent::metrics
