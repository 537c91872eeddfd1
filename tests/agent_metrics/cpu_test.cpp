#include "agent/metrics/cpu.hpp"

#include <cmath>
#include <doctest/doctest.h>

#include "fixture.hpp"

using namespace corvid::agent::metrics;
using corvid::test::read_fixture;

namespace {
proc_stat parsed(std::string_view text)
{
    auto s = parse_proc_stat(text);
    REQUIRE(s);
    return *s;
}

bool in_range(double v) { return std::isfinite(v) && v >= 0 && v <= 100; }
} // namespace

TEST_SUITE("agent.metrics.cpu")
{
    TEST_CASE("parse_proc_stat: reads the total and every core of a 4-vCPU VM")
    {
        const auto s = parsed(read_fixture("proc-vm/stat"));
        CHECK(s.all == cpu_times{84612, 1203, 30215, 2419876, 5022, 0, 1733, 812});
        REQUIRE(s.cores.size() == 4);
        for (std::uint32_t i = 0; i < 4; ++i)
            CHECK(s.cores[i].id == i);
        CHECK(s.cores[1].times == cpu_times{20877, 298, 7480, 605210, 1205, 0, 311, 199});
    }

    TEST_CASE("parse_proc_stat: reads a 64-core machine")
    {
        const auto s = parsed(read_fixture("proc-cases/stat-64core"));
        REQUIRE(s.cores.size() == 64);
        CHECK(s.cores[63].id == 63);
        CHECK(s.cores[63].times.user == 1500000 + 3711 * 63);
    }

    TEST_CASE("parse_proc_stat: old kernels with four columns, new kernels with more")
    {
        const auto old = parsed("cpu 10 20 30 40\ncpu0 10 20 30 40\n");
        CHECK(old.all == cpu_times{10, 20, 30, 40, 0, 0, 0, 0});
        const auto wide = parsed("cpu  1 2 3 4 5 6 7 8 9 10 11 12\n");
        CHECK(wide.all == cpu_times{1, 2, 3, 4, 5, 6, 7, 8});
        CHECK(wide.cores.empty());
    }

    TEST_CASE("parse_proc_stat: rejects malformed text")
    {
        CHECK_FALSE(parse_proc_stat(""));
        CHECK_FALSE(parse_proc_stat("intr 1 2 3\nctxt 4\n"));          // no cpu line
        CHECK_FALSE(parse_proc_stat("cpu 1 2 3\n"));                     // too few columns
        CHECK_FALSE(parse_proc_stat("cpu 1 2 x 4\n"));                   // not a number
        CHECK_FALSE(parse_proc_stat("cpu 1 2 -3 4\n"));                  // negative
        CHECK_FALSE(parse_proc_stat("cpu 1 2 3 18446744073709551616\n")); // overflow
        CHECK_FALSE(parse_proc_stat("cpu 1 2 3 4\ncpu 1 2 3 4\n"));      // two totals
        CHECK_FALSE(parse_proc_stat("cpu 1 2 3 4\ncpuX 1 2 3 4\n"));     // bad core id
        CHECK_FALSE(parse_proc_stat("cpu 1 2 3 4\ncpu99999999999 1 2 3 4\n"));
        CHECK_FALSE(parse_proc_stat("cpu 1 2 3 4\ncpu0\n"));
    }

    TEST_CASE("cpu_usage: first sample reads zero, one entry per core")
    {
        const auto s = parsed(read_fixture("proc-vm/stat"));
        const auto u = cpu_usage(s, s);
        CHECK(u == corvid::proto::cpu_stats{0, 0, 0, 0, {0, 0, 0, 0}});
        CHECK(busy_percent(s.all, s.all) == 0);
    }

    TEST_CASE("cpu_usage: nice counts as user, irq and softirq as system, steal as busy, iowait not")
    {
        // Deltas: user 10, nice 10, system 5, idle 50, iowait 10, irq 3, softirq 2, steal 10 = 100 ticks.
        const auto before = parsed("cpu 100 100 100 1000 100 100 100 100 0 0\n"
                                   "cpu0 100 100 100 1000 100 100 100 100 0 0\n");
        const auto after = parsed("cpu 110 110 105 1050 110 103 102 110 0 0\n"
                                  "cpu0 110 110 105 1050 110 103 102 110 0 0\n");
        const auto u = cpu_usage(before, after);
        CHECK(u.user == doctest::Approx(20));
        CHECK(u.system == doctest::Approx(10));
        CHECK(u.iowait == doctest::Approx(10));
        CHECK(u.steal == doctest::Approx(10));
        REQUIRE(u.cores.size() == 1);
        CHECK(u.cores[0] == doctest::Approx(40));
        CHECK(busy_percent(before.all, after.all) == doctest::Approx(40));
    }

    TEST_CASE("cpu_usage: 64 cores each busy their own share, guest time is not counted twice")
    {
        // Between the two readings core i spent i ticks in user (i/2 of them running a guest,
        // which the kernel also shows in the guest column) and 100 - i idle.
        const auto before = parsed(read_fixture("proc-cases/stat-64core"));
        const auto after = parsed(read_fixture("proc-cases/stat-64core-later"));
        const auto u = cpu_usage(before, after);
        REQUIRE(u.cores.size() == 64);
        for (std::size_t i = 0; i < 64; ++i)
            CHECK(u.cores[i] == doctest::Approx(static_cast<double>(i)));
        // sum(0..63) = 2016 busy ticks of 6400.
        CHECK(u.user == doctest::Approx(31.5));
        CHECK(u.system == 0);
        CHECK(busy_percent(before.all, after.all) == doctest::Approx(31.5));
    }

    TEST_CASE("cpu_usage: counters going backwards count as zero, values stay in range")
    {
        // iowait drops (tickless kernels do this); idle and user advance.
        const auto before = parsed("cpu 100 0 0 1000 500 0 0 0\n");
        const auto after = parsed("cpu 150 0 0 1050 400 0 0 0\n");
        const auto u = cpu_usage(before, after);
        CHECK(u.iowait == 0);
        CHECK(u.user == doctest::Approx(50));
        CHECK(busy_percent(before.all, after.all) == doctest::Approx(50));

        // Everything reset (garbage or a counter wrap): no time passed, all zero.
        const auto reset = cpu_usage(after, before);
        CHECK(reset.user == 0);
        CHECK(busy_percent(after.all, before.all) == 0);

        // Huge deltas cannot overflow the total.
        const auto huge = cpu_usage(parsed("cpu 0 0 0 0\n"),
                                    parsed("cpu 18446744073709551615 18446744073709551615 0 18446744073709551615\n"));
        CHECK(in_range(huge.user));
        CHECK(huge.user == doctest::Approx(200.0 / 3.0));
    }

    TEST_CASE("cpu_usage: cores are matched by id, a core that came online reads 0")
    {
        const auto before = parsed("cpu 0 0 0 0\ncpu0 0 0 0 0\ncpu1 0 0 0 0\ncpu3 0 0 0 0\n");
        const auto after = parsed("cpu 40 0 0 360\ncpu0 10 0 0 90\ncpu1 20 0 0 80\ncpu2 5 0 0 5\ncpu3 30 0 0 70\n");
        const auto u = cpu_usage(before, after);
        REQUIRE(u.cores.size() == 4);
        CHECK(u.cores[0] == doctest::Approx(10));
        CHECK(u.cores[1] == doctest::Approx(20));
        CHECK(u.cores[2] == 0);
        CHECK(u.cores[3] == doctest::Approx(30));

        // A core that went offline is simply absent.
        const auto fewer = cpu_usage(after, parsed("cpu 50 0 0 450\ncpu0 20 0 0 180\n"));
        REQUIRE(fewer.cores.size() == 1);
        CHECK(fewer.cores[0] == doctest::Approx(10));
    }
}
