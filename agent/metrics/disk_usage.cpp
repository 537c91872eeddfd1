#include "agent/metrics/disk_usage.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <unordered_map>

#include "agent/metrics/rate.hpp"
#include "agent/metrics/text_fields.hpp"

namespace corvid::agent::metrics {
namespace {

using namespace std::string_view_literals;

constexpr std::array pseudo_types = {
    "proc"sv,     "sysfs"sv,     "tmpfs"sv,      "devtmpfs"sv,  "devpts"sv,     "cgroup"sv,   "cgroup2"sv,
    "overlay"sv,  "aufs"sv,      "squashfs"sv,   "iso9660"sv,   "erofs"sv,      "nsfs"sv,     "autofs"sv,
    "mqueue"sv,   "hugetlbfs"sv, "debugfs"sv,    "tracefs"sv,   "securityfs"sv, "pstore"sv,   "bpf"sv,
    "configfs"sv, "fusectl"sv,   "binfmt_misc"sv, "efivarfs"sv, "rpc_pipefs"sv, "ramfs"sv,    "selinuxfs"sv,
    "nfsd"sv,     "fuse"sv,      "shm"sv,
};

constexpr std::array always_types = {"zfs"sv, "btrfs"sv, "nfs"sv, "nfs4"sv, "cifs"sv, "smb3"sv, "ceph"sv};

// Where container runtimes mount their containers' root filesystems, volumes and namespaces.
constexpr std::array container_dirs = {
    "/var/lib/docker/"sv,   "/var/lib/containers/"sv, "/var/lib/containerd/"sv, "/run/containerd/"sv,
    "/run/docker/"sv,       "/var/lib/kubelet/"sv,    "/run/k3s/"sv,
};

template <std::size_t N> bool contains(const std::array<std::string_view, N>& set, std::string_view s)
{
    return std::find(set.begin(), set.end(), s) != set.end();
}

bool is_octal(char c) { return c >= '0' && c <= '7'; }

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b)
{
    std::uint64_t out = 0;
    return __builtin_mul_overflow(a, b, &out) ? std::numeric_limits<std::uint64_t>::max() : out;
}

} // namespace

std::string unescape_mount_field(std::string_view field)
{
    std::string out;
    out.reserve(field.size());
    for (std::size_t i = 0; i < field.size(); ++i) {
        const bool escape = field[i] == '\\' && i + 3 < field.size() && is_octal(field[i + 1])
                         && is_octal(field[i + 2]) && is_octal(field[i + 3]);
        if (escape) {
            const int value = (field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0');
            if (value <= 0xff) {
                out.push_back(static_cast<char>(value));
                i += 3;
                continue;
            }
        }
        out.push_back(field[i]);
    }
    return out;
}

std::optional<std::vector<mount_entry>> parse_mounts(std::string_view text)
{
    std::vector<mount_entry> out;
    std::string_view line;
    while (next_line(text, line)) {
        const auto fields = split_fields(line);
        if (fields.empty())
            continue;
        if (fields.size() < 4)
            return std::nullopt;
        out.push_back({unescape_mount_field(fields[0]), unescape_mount_field(fields[1]),
                       unescape_mount_field(fields[2])});
    }
    if (out.empty())
        return std::nullopt;
    return out;
}

bool is_reported_filesystem(const mount_entry& m)
{
    if (contains(pseudo_types, m.fs_type) || m.fs_type.starts_with("fuse."))
        return false;
    for (const auto dir : container_dirs)
        if (m.mount_point.starts_with(dir))
            return false;
    if (contains(always_types, m.fs_type))
        return true;
    return m.device.starts_with("/dev/");
}

std::vector<mount_entry> select_reported_mounts(const std::vector<mount_entry>& mounts)
{
    // The last mount on a mount point is the one path lookups (and statvfs) reach.
    std::unordered_map<std::string_view, std::size_t> top_at;
    for (std::size_t i = 0; i < mounts.size(); ++i)
        top_at[mounts[i].mount_point] = i;

    std::vector<mount_entry> out;
    std::unordered_map<std::string_view, std::size_t> by_device; // device (viewed in `mounts`) -> index in out
    for (std::size_t i = 0; i < mounts.size(); ++i) {
        const auto& m = mounts[i];
        if (top_at[m.mount_point] != i || !is_reported_filesystem(m))
            continue;
        const auto seen = by_device.find(m.device);
        if (seen == by_device.end()) {
            out.push_back(m);
            by_device.emplace(m.device, out.size() - 1);
        } else if (m.mount_point.size() < out[seen->second].mount_point.size()) {
            out[seen->second].mount_point = m.mount_point;
        }
    }
    return out;
}

std::optional<proto::disk_usage> disk_usage_of(const mount_entry& m, const fs_space& space)
{
    if (space.blocks == 0 || space.fragment_size == 0)
        return std::nullopt;
    const auto used_blocks = space.blocks - std::min(space.blocks_free, space.blocks);
    proto::disk_usage out;
    out.mount = m.mount_point;
    out.device = m.device;
    out.fs = m.fs_type;
    out.total_bytes = saturating_mul(space.blocks, space.fragment_size);
    out.used_bytes = saturating_mul(used_blocks, space.fragment_size);
    // In blocks, as doubles: the df ratio does not depend on the block size and cannot overflow.
    out.percent = percent_of(static_cast<double>(used_blocks),
                             static_cast<double>(used_blocks) + static_cast<double>(space.blocks_available));
    return out;
}

} // namespace corvid::agent::metrics
