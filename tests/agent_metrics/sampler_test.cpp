#include "agent/metrics/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <doctest/doctest.h>
#include <string>
#include <vector>

#include "fixture.hpp"

using corvid::agent::metrics_sampler;
using corvid::agent::sampler_options;
using corvid::test::fixture_path;

namespace {
sampler_options vm_options()
{
    sampler_options o;
    o.paths.proc = fixture_path("proc-vm");
    o.paths.sys = fixture_path("sys-vm");
    return o;
}

bool percent(double v) { return std::isfinite(v) && v >= 0 && v <= 100; }
bool rate(double v) { return std::isfinite(v) && v >= 0; }
} // namespace

TEST_SUITE("agent.metrics.sampler")
{
    TEST_CASE("metrics_sampler: samples the fixture tree of a VM")
    {
        metrics_sampler sampler(vm_options());
        const auto d = sampler.sample(1718090000123);
        CHECK(d.timestamp_ms == 1718090000123);

        // First sample: CPU and rates are zero, counters primed.
        REQUIRE(d.cpu);
        CHECK(*d.cpu == corvid::proto::cpu_stats{0, 0, 0, 0, {0, 0, 0, 0}});
        CHECK(d.cpu_percent == 0.0);

        REQUIRE(d.memory);
        CHECK(d.memory->total_bytes == 4013884ull * 1024);
        CHECK(d.memory->used_bytes == (4013884ull - 2987640ull) * 1024);
        CHECK(d.memory->swap_used_bytes == (1048572ull - 917500ull) * 1024);
        REQUIRE(d.memory_percent);
        CHECK(*d.memory_percent == doctest::Approx((4013884.0 - 2987640.0) / 4013884.0 * 100));

        REQUIRE(d.load);
        CHECK((*d.load)[2] == doctest::Approx(0.59));
        CHECK(d.uptime_s == 354123u);

        REQUIRE(d.disk_io.size() == 3);
        CHECK(d.disk_io[0] == corvid::proto::disk_io{"vda", 0, 0});
        CHECK(d.disk_io[1].device == "vdb");
        CHECK(d.disk_io[2].device == "sr0");

        REQUIRE(d.network.size() == 3);
        CHECK(d.network[0] == corvid::proto::network_interface{"ens3", 0, 0, 9921044871, 1201844290});
        CHECK(d.network[2].interface == "veth3a1f2c9");

        // statvfs is the real one here, on this machine's "/": the numbers are its, the names the fixture's.
        const auto root =
            std::find_if(d.disk_usage.begin(), d.disk_usage.end(), [](const auto& u) { return u.mount == "/"; });
        REQUIRE(root != d.disk_usage.end());
        CHECK(root->device == "/dev/vda1");
        CHECK(root->fs == "ext4");
        CHECK(root->total_bytes > 0);
        CHECK(percent(root->percent));
        for (const auto& u : d.disk_usage)
            CHECK(std::string("/ /home /boot /srv/data").find(u.mount) != std::string::npos);
    }

    TEST_CASE("metrics_sampler: disabled collectors leave their sections empty")
    {
        auto o = vm_options();
        o.enabled.cpu = o.enabled.disk_usage = o.enabled.disk_io = false;
        o.enabled.network = o.enabled.load = o.enabled.uptime = false;
        metrics_sampler sampler(o);
        const auto d = sampler.sample(5);
        CHECK(d.memory);
        CHECK(d.memory_percent);
        CHECK_FALSE(d.cpu);
        CHECK_FALSE(d.cpu_percent);
        CHECK_FALSE(d.load);
        CHECK_FALSE(d.uptime_s);
        CHECK(d.disk_usage.empty());
        CHECK(d.disk_io.empty());
        CHECK(d.network.empty());
    }

    TEST_CASE("metrics_sampler: samples this machine's /proc and /sys sanely")
    {
        metrics_sampler sampler({});
        sampler.sample(1);
        const auto d = sampler.sample(2);

        REQUIRE(d.memory);
        CHECK(d.memory->total_bytes > 0);
        CHECK(d.memory->used_bytes <= d.memory->total_bytes);
        CHECK(d.memory->available_bytes <= d.memory->total_bytes);
        CHECK(d.memory->swap_used_bytes <= d.memory->swap_total_bytes);
        REQUIRE(d.memory_percent);
        CHECK(percent(*d.memory_percent));

        REQUIRE(d.cpu);
        CHECK_FALSE(d.cpu->cores.empty());
        CHECK(percent(d.cpu->user));
        CHECK(percent(d.cpu->system));
        CHECK(percent(d.cpu->iowait));
        CHECK(percent(d.cpu->steal));
        CHECK(d.cpu->user + d.cpu->system + d.cpu->iowait + d.cpu->steal <= 100.0 + 1e-9);
        for (const double c : d.cpu->cores)
            CHECK(percent(c));
        REQUIRE(d.cpu_percent);
        CHECK(percent(*d.cpu_percent));

        REQUIRE(d.load);
        for (const double l : *d.load)
            CHECK((std::isfinite(l) && l >= 0));
        REQUIRE(d.uptime_s);
        CHECK(*d.uptime_s > 0);

        for (const auto& u : d.disk_usage) {
            CHECK(u.used_bytes <= u.total_bytes);
            CHECK(percent(u.percent));
        }
        for (const auto& io : d.disk_io)
            CHECK((rate(io.read_bytes_per_s) && rate(io.write_bytes_per_s)));
        for (const auto& n : d.network) {
            CHECK(n.interface != "lo");
            CHECK((rate(n.rx_bytes_per_s) && rate(n.tx_bytes_per_s)));
        }
    }
}
