#include "agent/metrics/disk_io.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <string>
#include <vector>

#include "fixture.hpp"

using namespace corvid::agent::metrics;
using corvid::test::read_fixture;

namespace {
std::vector<disk_counters> vm_disks()
{
    auto d = parse_diskstats(read_fixture("proc-vm/diskstats"));
    REQUIRE(d);
    return *d;
}

// The VM's /sys/block (tests/fixtures/sys-vm/block).
bool vm_whole_disk(std::string_view name)
{
    static const std::vector<std::string_view> disks = {"loop0", "loop1", "vda", "vdb", "sr0", "zram0"};
    return std::find(disks.begin(), disks.end(), name) != disks.end();
}

std::vector<std::string> names(const std::vector<disk_counters>& disks)
{
    std::vector<std::string> out;
    for (const auto& d : disks)
        out.push_back(d.device);
    return out;
}
} // namespace

TEST_SUITE("agent.metrics.disk_io")
{
    TEST_CASE("parse_diskstats: sectors read and written of every device")
    {
        const auto d = vm_disks();
        REQUIRE(d.size() == 9);
        CHECK(d[2] == disk_counters{"vda", 9871232, 30112448});
        CHECK(d[6] == disk_counters{"vdb", 22104096, 88120448});
        // The 14-field shape of kernels before 4.18 (no discard or flush columns).
        const auto old = parse_diskstats("   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n");
        REQUIRE(old);
        CHECK(old->at(0) == disk_counters{"sda", 3, 7});
    }

    TEST_CASE("parse_diskstats: an empty file is no devices, malformed lines are rejected")
    {
        const auto none = parse_diskstats("");
        REQUIRE(none);
        CHECK(none->empty());
        CHECK_FALSE(parse_diskstats("8 0 sda 1 2 3 4 5 6 7 8 9 10\n"));      // 13 fields
        CHECK_FALSE(parse_diskstats("8 0 sda 1 2 x 4 5 6 7 8 9 10 11\n"));   // not a number
        CHECK_FALSE(parse_diskstats("8 0 sda 1 2 -3 4 5 6 7 8 9 10 11\n"));  // negative
        CHECK_FALSE(parse_diskstats("a 0 sda 1 2 3 4 5 6 7 8 9 10 11\n"));   // bad major
        CHECK(parse_diskstats("8 0 sda 1 2 3 4 5 6 7 8 9 10 11 x y z\n")); // extra columns are not read
    }

    TEST_CASE("select_disks: whole disks only, no loop, ram or zram, unless included")
    {
        CHECK(names(select_disks(vm_disks(), vm_whole_disk, {})) == std::vector<std::string>{"vda", "vdb", "sr0"});
        CHECK(names(select_disks(vm_disks(), vm_whole_disk, {"vda1", "loop0", "nvme9n1"}))
              == std::vector<std::string>{"loop0", "vda", "vda1", "vdb", "sr0"});
    }

    TEST_CASE("sys_block_name: '/' in a device name is '!' under /sys/block")
    {
        CHECK(sys_block_name("sda") == "sda");
        CHECK(sys_block_name("cciss/c0d0") == "cciss!c0d0");
        CHECK(sys_block_name("..").empty());
        CHECK(sys_block_name(".").empty());
        CHECK(sys_block_name("").empty());
    }

    TEST_CASE("is_virtual_disk: loopN, ramN and zramN")
    {
        CHECK(is_virtual_disk("loop0"));
        CHECK(is_virtual_disk("loop12"));
        CHECK(is_virtual_disk("ram15"));
        CHECK(is_virtual_disk("zram0"));
        CHECK_FALSE(is_virtual_disk("loop"));
        CHECK_FALSE(is_virtual_disk("ramdisk"));
        CHECK_FALSE(is_virtual_disk("sda"));
        CHECK_FALSE(is_virtual_disk("nvme0n1"));
    }

    TEST_CASE("disk_rates: bytes per second from 512-byte sectors")
    {
        const std::vector<disk_counters> before = {{"vda", 1000, 2000}, {"vdb", 50, 50}};
        const std::vector<disk_counters> after = {{"vda", 3000, 2000}, {"vdb", 50, 450}, {"sdz", 9999, 9999}};
        const auto r = disk_rates(before, after, 2.0);
        REQUIRE(r.size() == 3);
        CHECK(r[0] == corvid::proto::disk_io{"vda", 2000.0 * 512 / 2, 0});
        CHECK(r[1] == corvid::proto::disk_io{"vdb", 0, 400.0 * 512 / 2});
        CHECK(r[2] == corvid::proto::disk_io{"sdz", 0, 0}); // no earlier reading

        const auto first = disk_rates(after, after, 0);
        CHECK(std::all_of(first.begin(), first.end(),
                          [](const auto& d) { return d.read_bytes_per_s == 0 && d.write_bytes_per_s == 0; }));

        // A device re-added with a fresh 64-bit counter: a reset, not 2^64 sectors.
        const auto reset = disk_rates({{"sdx", 10'000'000'000u, 0}}, {{"sdx", 100, 0}}, 1.0);
        CHECK(reset[0].read_bytes_per_s == doctest::Approx(100.0 * 512));
    }
}
