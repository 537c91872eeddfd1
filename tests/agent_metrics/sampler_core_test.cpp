#include "agent/metrics/sampler_core.hpp"

#include <cerrno>
#include <chrono>
#include <doctest/doctest.h>
#include <filesystem>
#include <map>
#include <string>

#include "common/log.hpp"
#include "fixture.hpp"

using namespace std::chrono_literals;
using corvid::agent::sampler_core;
using corvid::agent::sampler_hooks;
using corvid::agent::sampler_options;
using corvid::agent::metrics::fs_space;
namespace fs = std::filesystem;

namespace {

// A copy of the VM fixture tree that tests rewrite, a clock they move, and statvfs answers they set.
struct fake_host {
    corvid::test::temp_dir dir;
    std::chrono::steady_clock::time_point now{};
    std::map<std::string, fs_space> spaces; // every mount of the fixture; one not here fails with ENOENT

    fake_host()
    {
        for (const auto* mount_point : {"/", "/home", "/boot", "/srv/data"})
            spaces[mount_point] = {1000, 300, 250, 4096};
        fs::copy(corvid::test::fixture_path("proc-vm"), dir.file("proc"), fs::copy_options::recursive);
        fs::copy(corvid::test::fixture_path("sys-vm"), dir.file("sys"), fs::copy_options::recursive);
    }

    sampler_options options() const
    {
        sampler_options o;
        o.paths.proc = dir.file("proc");
        o.paths.sys = dir.file("sys");
        return o;
    }

    sampler_hooks hooks()
    {
        sampler_hooks h;
        h.now = [this] { return now; };
        h.statvfs = [this](const std::string& mount_point) -> boost::system::result<fs_space> {
            const auto it = spaces.find(mount_point);
            if (it == spaces.end())
                return boost::system::error_code(ENOENT, boost::system::system_category());
            return it->second;
        };
        return h;
    }

    fs::path proc(const std::string& relative) const { return fs::path(dir.file("proc")) / relative; }

    std::string read(const std::string& relative) const
    {
        return corvid::test::read_text_file(proc(relative).string());
    }

    void write(const std::string& relative, std::string_view text) const
    {
        corvid::test::write_text_file(proc(relative), text);
    }

    // Rewrites one number (or any unique text) in a proc file.
    void replace(const std::string& relative, std::string_view from, std::string_view to) const
    {
        auto text = read(relative);
        const auto at = text.find(from);
        REQUIRE(at != std::string::npos);
        REQUIRE(text.find(from, at + 1) == std::string::npos);
        text.replace(at, from.size(), to);
        write(relative, text);
    }
};

} // namespace

TEST_SUITE("agent.metrics.sampler")
{
    TEST_CASE("sampler_core: rates and percentages between two samples of a rewritten tree")
    {
        fake_host host;
        host.spaces["/"] = {1000, 300, 250, 4096};
        host.spaces["/home"] = {2000, 1500, 1500, 4096};
        host.spaces["/srv/data"] = {4000, 4000, 4000, 512}; // empty
        host.spaces.erase("/boot");                            // statvfs fails: left out, the rest reported
        sampler_core sampler(host.options(), host.hooks());

        const auto first = sampler.sample(1000);
        REQUIRE(first.cpu_percent);
        CHECK(*first.cpu_percent == 0);
        REQUIRE(first.network.size() == 3);
        CHECK(first.network[0].rx_bytes_per_s == 0);

        // Two seconds later. Per core: cpu0 user +50 idle +50; cpu1 system +25 idle +75;
        // cpu2 iowait +100; cpu3 user +90 steal +10. All together: 400 ticks, of which user 140,
        // system 25, idle 125, iowait 100, steal 10.
        host.now += 2s;
        host.write("stat", "cpu  84752 1203 30240 2420001 5122 0 1733 822 0 0\n"
                           "cpu0 21551 310 7702 604062 1311 0 802 205 0 0\n"
                           "cpu1 20877 298 7505 605285 1205 0 311 199 0 0\n"
                           "cpu2 21240 305 7529 605001 1390 0 310 204 0 0\n"
                           "cpu3 21084 290 7504 605653 1216 0 310 214 0 0\n"
                           "ctxt 91532771\n");
        host.replace("diskstats", "9871232", "9891712");   // vda: 20480 sectors (10 MiB) read
        host.replace("diskstats", "30112448", "30116544"); // vda: 4096 sectors (2 MiB) written
        host.replace("net/dev", "9921044871", "9924044871"); // ens3: 3,000,000 bytes received
        host.replace("net/dev", "1201844290", "1202844290"); // ens3: 1,000,000 bytes sent
        host.replace("meminfo", "MemAvailable:    2987640", "MemAvailable:    2007640");
        host.write("uptime", "354125.48 1378219.92\n");

        const auto d = sampler.sample(3000);
        CHECK(d.timestamp_ms == 3000);

        REQUIRE(d.cpu);
        CHECK(d.cpu->user == doctest::Approx(35));
        CHECK(d.cpu->system == doctest::Approx(6.25));
        CHECK(d.cpu->iowait == doctest::Approx(25));
        CHECK(d.cpu->steal == doctest::Approx(2.5));
        REQUIRE(d.cpu->cores.size() == 4);
        CHECK(d.cpu->cores[0] == doctest::Approx(50));
        CHECK(d.cpu->cores[1] == doctest::Approx(25));
        CHECK(d.cpu->cores[2] == doctest::Approx(0));
        CHECK(d.cpu->cores[3] == doctest::Approx(100));
        REQUIRE(d.cpu_percent);
        CHECK(*d.cpu_percent == doctest::Approx(43.75));

        REQUIRE(d.memory);
        CHECK(d.memory->used_bytes == (4013884ull - 2007640ull) * 1024);
        CHECK(*d.memory_percent == doctest::Approx((4013884.0 - 2007640.0) / 4013884.0 * 100));

        REQUIRE(d.disk_io.size() == 3);
        CHECK(d.disk_io[0] == corvid::proto::disk_io{"vda", 5.0 * 1024 * 1024, 1.0 * 1024 * 1024});
        CHECK(d.disk_io[1] == corvid::proto::disk_io{"vdb", 0, 0});

        REQUIRE(d.network.size() == 3);
        CHECK(d.network[0] == corvid::proto::network_interface{"ens3", 1'500'000, 500'000, 9924044871, 1202844290});
        CHECK(d.network[1].rx_bytes_per_s == 0);

        REQUIRE(d.disk_usage.size() == 3);
        CHECK(d.disk_usage[0]
              == corvid::proto::disk_usage{"/", "/dev/vda1", "ext4", 1000 * 4096, 700 * 4096, 700.0 / 950.0 * 100});
        CHECK(d.disk_usage[1].mount == "/home");
        CHECK(d.disk_usage[1].percent == doctest::Approx(25));
        CHECK(d.disk_usage[2].mount == "/srv/data");
        CHECK(d.disk_usage[2].percent == 0);

        CHECK(d.uptime_s == 354125u);
    }

    TEST_CASE("sampler_core: a failing collector leaves its section empty, logs once each way, and the others go on")
    {
        corvid::log::set_min_level(corvid::log::level::info);
        fake_host host;
        sampler_core sampler(host.options(), host.hooks());
        corvid::test::stderr_capture log;

        const auto loadavg = host.read("loadavg");
        fs::remove(host.proc("loadavg"));
        host.write("uptime", "not a number\n");
        for (int i = 0; i < 3; ++i) {
            host.now += 1s;
            const auto d = sampler.sample(i);
            CHECK_FALSE(d.load);
            CHECK_FALSE(d.uptime_s);
            CHECK(d.cpu);
            CHECK(d.memory);
            CHECK(d.network.size() == 3);
            CHECK(d.disk_io.size() == 3);
            CHECK(d.disk_usage.size() == 4);
        }
        CHECK(log.count_lines_with("metrics: load collector failing") == 1);
        CHECK(log.count_lines_with("cannot read " + host.proc("loadavg").string()) == 1);
        CHECK(log.count_lines_with("metrics: uptime collector failing") == 1);
        CHECK(log.count_lines_with("cannot parse " + host.proc("uptime").string()) == 1);
        CHECK(log.count_lines_with("recovered") == 0);

        host.write("loadavg", loadavg);
        host.write("uptime", "100.5 20.0\n");
        for (int i = 0; i < 2; ++i) {
            host.now += 1s;
            const auto d = sampler.sample(10 + i);
            CHECK(d.load);
            CHECK(d.uptime_s == 100u);
        }
        CHECK(log.count_lines_with("metrics: load collector recovered") == 1);
        CHECK(log.count_lines_with("metrics: uptime collector recovered") == 1);
        CHECK(log.count_lines_with("failing") == 2);
    }

    TEST_CASE("sampler_core: a mount whose statvfs fails is left out and logged once each way")
    {
        corvid::log::set_min_level(corvid::log::level::info);
        fake_host host;
        host.spaces = {{"/", {1000, 300, 250, 4096}}};
        sampler_core sampler(host.options(), host.hooks());
        corvid::test::stderr_capture log;

        for (int i = 0; i < 2; ++i)
            CHECK(sampler.sample(i).disk_usage.size() == 1);
        CHECK(log.count_lines_with("leaving out /home") == 1);
        CHECK(log.count_lines_with("leaving out /boot") == 1);
        CHECK(log.count_lines_with("leaving out /srv/data") == 1);

        host.spaces["/home"] = {10, 5, 5, 4096};
        const auto d = sampler.sample(3);
        REQUIRE(d.disk_usage.size() == 2);
        CHECK(d.disk_usage[1].mount == "/home");
        CHECK(log.count_lines_with("/home is readable again") == 1);
        CHECK(log.count_lines_with("collector failing") == 0); // the collector itself worked
    }

    TEST_CASE("sampler_core: after a failed interval the rate spans the whole gap")
    {
        fake_host host;
        sampler_core sampler(host.options(), host.hooks());
        sampler.sample(0);

        const auto net_dev = host.read("net/dev");
        fs::remove(host.proc("net/dev"));
        host.now += 2s;
        CHECK(sampler.sample(1).network.empty());

        host.write("net/dev", net_dev);
        host.replace("net/dev", "9921044871", "9921050871"); // 6000 bytes over the 4 s since the last reading
        host.now += 2s;
        const auto d = sampler.sample(2);
        REQUIRE(d.network.size() == 3);
        CHECK(d.network[0].rx_bytes_per_s == doctest::Approx(1500));
    }

    TEST_CASE("sampler_core: without /sys/block only disk_io fails")
    {
        fake_host host;
        fs::remove_all(host.dir.file("sys/block"));
        sampler_core sampler(host.options(), host.hooks());
        const auto d = sampler.sample(0);
        CHECK(d.disk_io.empty());
        CHECK(d.cpu);
        CHECK(d.network.size() == 3);
    }

    TEST_CASE("sampler_core: devices and interfaces named in the options are reported")
    {
        fake_host host;
        auto o = host.options();
        o.disk_io_include = {"vda1", "zram0"};
        o.network_include = {"lo"};
        sampler_core sampler(o, host.hooks());
        const auto d = sampler.sample(0);
        REQUIRE(d.disk_io.size() == 5);
        CHECK(d.disk_io[1].device == "vda1");
        CHECK(d.disk_io[4].device == "zram0");
        REQUIRE(d.network.size() == 4);
        CHECK(d.network[0].interface == "lo");
    }

    TEST_CASE("sampler_core: a clock that did not move gives zero rates, not infinite ones")
    {
        fake_host host;
        sampler_core sampler(host.options(), host.hooks());
        sampler.sample(0);
        host.replace("net/dev", "9921044871", "9921050871");
        const auto d = sampler.sample(1);
        REQUIRE(d.network.size() == 3);
        CHECK(d.network[0].rx_bytes_per_s == 0);
    }
}
