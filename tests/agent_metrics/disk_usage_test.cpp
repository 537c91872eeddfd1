#include "agent/metrics/disk_usage.hpp"

#include <doctest/doctest.h>
#include <string>
#include <vector>

#include "fixture.hpp"

using namespace corvid::agent::metrics;
using corvid::test::read_fixture;

namespace {
std::vector<mount_entry> mounts_of(std::string_view text)
{
    auto m = parse_mounts(text);
    REQUIRE(m);
    return *m;
}

// "mount_point device" for each selected mount, for compact expectations.
std::vector<std::string> selected(std::string_view fixture)
{
    std::vector<std::string> out;
    for (const auto& m : select_reported_mounts(mounts_of(read_fixture(fixture))))
        out.push_back(m.mount_point + " " + m.device);
    return out;
}
} // namespace

TEST_SUITE("agent.metrics.disk_usage")
{
    TEST_CASE("parse_mounts: device, mount point and type of every line")
    {
        const auto m = mounts_of(read_fixture("proc-vm/self/mounts"));
        REQUIRE(m.size() == 26);
        CHECK(m[0] == mount_entry{"sysfs", "/sys", "sysfs"});
        CHECK(m[5] == mount_entry{"/dev/vda1", "/", "ext4"});
    }

    TEST_CASE("parse_mounts: decodes octal escapes in paths")
    {
        const auto m = mounts_of(read_fixture("proc-cases/mounts-octal-escapes"));
        REQUIRE(m.size() == 7);
        CHECK(m[1].mount_point == "/media/alice/My Passport");
        CHECK(m[2].mount_point == "/mnt/tab\tand\nnewline");
        CHECK(m[3].mount_point == "/mnt/back\\slash");
        CHECK(m[4] == mount_entry{"//nas/share files", "/mnt/nas share", "cifs"});
        CHECK(m[5].mount_point == "/mnt/not\\9octal\\04short\\777big"); // not escapes: kept as they are
        CHECK(m[6].mount_point == "/tmp/with space");
    }

    TEST_CASE("unescape_mount_field: three octal digits only, at most one byte")
    {
        CHECK(unescape_mount_field("a\\040b") == "a b");
        CHECK(unescape_mount_field("\\134") == "\\");
        CHECK(unescape_mount_field("\\000x") == std::string("\0x", 2));
        CHECK(unescape_mount_field("\\") == "\\");
        CHECK(unescape_mount_field("x\\04") == "x\\04");
        CHECK(unescape_mount_field("\\400") == "\\400");
        CHECK(unescape_mount_field("\\08") == "\\08");
        CHECK(unescape_mount_field("") == "");
    }

    TEST_CASE("parse_mounts: rejects short lines and an empty file")
    {
        CHECK_FALSE(parse_mounts(""));
        CHECK_FALSE(parse_mounts("\n\n"));
        CHECK_FALSE(parse_mounts("/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /x\n"));
        CHECK(parse_mounts("/dev/sda1 / ext4 rw\n")); // the two trailing numbers are not needed
    }

    TEST_CASE("select_reported_mounts: a VM keeps its block-device filesystems")
    {
        CHECK(selected("proc-vm/self/mounts")
              == std::vector<std::string>{"/ /dev/vda1", "/home /dev/vda5", "/boot /dev/vda2", "/srv/data /dev/vdb"});
    }

    TEST_CASE("select_reported_mounts: a container host keeps the host's disks, not the containers'")
    {
        // Left out: pseudo filesystems, overlays, squashfs, FUSE, anything under docker's,
        // containerd's or kubelet's directories; /srv/www is a bind of / and /srv/nfs/backups a
        // longer path to the disk also mounted at /backups.
        CHECK(selected("proc-cases/mounts-container-host")
              == std::vector<std::string>{
                  "/ /dev/nvme0n1p2",
                  "/boot/efi /dev/nvme0n1p1",
                  "/var/lib/docker /dev/nvme1n1",
                  "/tank tank",
                  "/tank/backups tank/backups",
                  "/home fileserver:/export/home",
                  "/mnt/media //nas/media",
                  "/mnt/ceph 10.0.0.7:6789:/",
                  "/backups /dev/sdb1",
              });
    }

    TEST_CASE("select_reported_mounts: inside a container only real disks bound in remain")
    {
        // The overlay root is the container's own; the host disk appears once, under the
        // shortest of the files docker binds from it.
        CHECK(selected("proc-cases/mounts-inside-container")
              == std::vector<std::string>{"/etc/hosts /dev/sda1", "/data /dev/sdb1"});
    }

    TEST_CASE("select_reported_mounts: a mount point mounted over reports only the top mount")
    {
        const auto m = mounts_of("/dev/sda1 / ext4 rw 0 0\n"
                                 "/dev/sdb1 /mnt ext4 rw 0 0\n"
                                 "/dev/sdc1 /mnt xfs rw 0 0\n"
                                 "/dev/sdd1 /srv ext4 rw 0 0\n"
                                 "tmpfs /srv tmpfs rw 0 0\n");
        const auto s = select_reported_mounts(m);
        REQUIRE(s.size() == 2);
        CHECK(s[0].mount_point == "/");
        CHECK(s[1] == mount_entry{"/dev/sdc1", "/mnt", "xfs"});
    }

    TEST_CASE("is_reported_filesystem: the type decides first, then the device")
    {
        CHECK(is_reported_filesystem({"/dev/sda1", "/", "ext4"}));
        CHECK(is_reported_filesystem({"/dev/sdb1", "/win", "fuseblk"}));
        CHECK(is_reported_filesystem({"pool/ds", "/pool/ds", "zfs"}));
        CHECK(is_reported_filesystem({"server:/x", "/x", "nfs"}));
        CHECK(is_reported_filesystem({"//s/x", "/x", "smb3"}));
        CHECK_FALSE(is_reported_filesystem({"/dev/loop0", "/snap/x/1", "squashfs"}));
        CHECK_FALSE(is_reported_filesystem({"/dev/sr0", "/media/cdrom", "iso9660"}));
        CHECK_FALSE(is_reported_filesystem({"/dev/shm", "/dev/shm", "tmpfs"}));
        CHECK_FALSE(is_reported_filesystem({"sshfs#me@host:", "/mnt/h", "fuse.sshfs"}));
        CHECK_FALSE(is_reported_filesystem({"none", "/x", "ext4"}));
        CHECK_FALSE(is_reported_filesystem({"/dev/sdc1", "/var/lib/docker/volumes/v/_data", "ext4"}));
        CHECK(is_reported_filesystem({"/dev/sdc1", "/var/lib/dockerdata", "ext4"}));
    }

    TEST_CASE("disk_usage_of: total, used and percent as df computes them")
    {
        // 1000 blocks of 4 KiB: 300 free, of which 250 available to users (50 reserved for root).
        const auto u = disk_usage_of({"/dev/vda1", "/", "ext4"}, fs_space{1000, 300, 250, 4096});
        REQUIRE(u);
        CHECK(u->mount == "/");
        CHECK(u->device == "/dev/vda1");
        CHECK(u->fs == "ext4");
        CHECK(u->total_bytes == 1000 * 4096);
        CHECK(u->used_bytes == 700 * 4096);
        CHECK(u->percent == doctest::Approx(700.0 / 950.0 * 100));
    }

    TEST_CASE("disk_usage_of: empty filesystems are left out, odd numbers stay in range")
    {
        CHECK_FALSE(disk_usage_of({"/dev/x", "/x", "ext4"}, fs_space{0, 0, 0, 4096}));
        CHECK_FALSE(disk_usage_of({"/dev/x", "/x", "ext4"}, fs_space{10, 0, 0, 0}));

        const auto full = disk_usage_of({"/dev/x", "/x", "ext4"}, fs_space{10, 0, 0, 512});
        REQUIRE(full);
        CHECK(full->percent == 100);

        const auto more_free_than_size = disk_usage_of({"/dev/x", "/x", "ext4"}, fs_space{10, 20, 20, 512});
        REQUIRE(more_free_than_size);
        CHECK(more_free_than_size->used_bytes == 0);
        CHECK(more_free_than_size->percent == 0);

        const auto huge = disk_usage_of({"/dev/x", "/x", "ext4"}, fs_space{~0ull, 0, 0, ~0ull});
        REQUIRE(huge);
        CHECK(huge->total_bytes == ~0ull);
        CHECK(huge->percent == 100);
    }
}
