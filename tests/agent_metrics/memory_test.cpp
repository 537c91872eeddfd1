#include "agent/metrics/memory.hpp"

#include <doctest/doctest.h>

#include "fixture.hpp"

using namespace corvid::agent::metrics;
using corvid::test::read_fixture;

TEST_SUITE("agent.metrics.memory")
{
    TEST_CASE("parse_meminfo: reads a Debian 12 VM, kB to bytes")
    {
        const auto m = parse_meminfo(read_fixture("proc-vm/meminfo"));
        REQUIRE(m);
        CHECK(m->total == 4013884ull * 1024);
        CHECK(m->available == 2987640ull * 1024);
        CHECK(m->free == 1203452ull * 1024);
        CHECK(m->swap_total == 1048572ull * 1024);
        CHECK(m->swap_free == 917500ull * 1024);
    }

    TEST_CASE("memory_usage: used is total minus available")
    {
        const auto m = parse_meminfo(read_fixture("proc-vm/meminfo"));
        REQUIRE(m);
        const auto u = memory_usage(*m);
        CHECK(u.total_bytes == 4013884ull * 1024);
        CHECK(u.available_bytes == 2987640ull * 1024);
        CHECK(u.used_bytes == (4013884ull - 2987640ull) * 1024);
        CHECK(u.swap_total_bytes == 1048572ull * 1024);
        CHECK(u.swap_used_bytes == (1048572ull - 917500ull) * 1024);
        CHECK(memory_percent(u) == doctest::Approx((4013884.0 - 2987640.0) / 4013884.0 * 100));
    }

    TEST_CASE("parse_meminfo: falls back when MemAvailable is missing")
    {
        // Linux before 3.14: estimate available as MemFree + Buffers + Cached.
        const auto m = parse_meminfo(read_fixture("proc-cases/meminfo-no-memavailable"));
        REQUIRE(m);
        CHECK_FALSE(m->available);
        const auto u = memory_usage(*m);
        const auto available = (310204ull + 120340ull + 801112ull) * 1024;
        CHECK(u.available_bytes == available);
        CHECK(u.used_bytes == 2052528ull * 1024 - available);
        CHECK(u.swap_used_bytes == 0);
    }

    TEST_CASE("memory_usage: available capped at total, swap used never below 0")
    {
        meminfo m;
        m.total = 1000;
        m.available = 5000;
        m.swap_total = 10;
        m.swap_free = 20;
        auto u = memory_usage(m);
        CHECK(u.available_bytes == 1000);
        CHECK(u.used_bytes == 0);
        CHECK(u.swap_used_bytes == 0);
        CHECK(memory_percent(u) == 0);

        m.available.reset();
        m.free = ~0ull;
        m.buffers = ~0ull;
        u = memory_usage(m);
        CHECK(u.available_bytes == 1000);

        CHECK(memory_percent(corvid::proto::memory_stats{}) == 0);
    }

    TEST_CASE("parse_meminfo: rejects what it cannot use")
    {
        CHECK_FALSE(parse_meminfo(""));
        CHECK_FALSE(parse_meminfo("MemFree: 10 kB\nMemAvailable: 10 kB\n"));                // no MemTotal
        CHECK_FALSE(parse_meminfo("MemTotal: 0 kB\nMemAvailable: 0 kB\n"));                 // no memory
        CHECK_FALSE(parse_meminfo("MemTotal: 100 kB\n"));                                   // nothing free
        CHECK_FALSE(parse_meminfo("MemTotal: 100 kB\nMemAvailable: x kB\n"));
        CHECK_FALSE(parse_meminfo("MemTotal: 100 MB\nMemAvailable: 1 kB\n"));               // unit
        CHECK_FALSE(parse_meminfo("MemTotal: 100\nMemAvailable: 1 kB\n"));                  // no unit
        CHECK_FALSE(parse_meminfo("MemTotal: 18014398509481984 kB\nMemFree: 1 kB\n"));      // bytes overflow
        CHECK_FALSE(parse_meminfo("MemTotal: 100 kB\nMemTotal: 200 kB\nMemFree: 1 kB\n")); // twice
        // Lines we do not use may look like anything.
        const auto m = parse_meminfo("garbage\nHugePages_Total: 0\nMemTotal: 100 kB\nWeird: ? ?\nMemFree: 40 kB\n");
        REQUIRE(m);
        CHECK(memory_usage(*m).used_bytes == 60 * 1024);
    }
}
