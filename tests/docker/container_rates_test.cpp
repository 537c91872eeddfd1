#include "agent/docker/container_rates.hpp"

#include <doctest/doctest.h>

using namespace corvid::agent::docker;
using namespace std::chrono_literals;

namespace {
const auto t0 = std::chrono::steady_clock::time_point{} + 1000s;

container_reading running(std::string id, std::uint64_t cpu, std::uint64_t system, std::uint64_t rx, std::uint64_t tx,
                          std::chrono::steady_clock::time_point at)
{
    container_reading r;
    r.entry = {id, id + "-name", "img", "running", "Up"};
    stats_reading s;
    s.cpu_total_ns = cpu;
    s.system_cpu_ns = system;
    s.online_cpus = 4;
    s.memory_bytes = 1000;
    s.memory_limit_bytes = 8000;
    s.rx_bytes = rx;
    s.tx_bytes = tx;
    r.stats = s;
    r.read_at = at;
    return r;
}
} // namespace

TEST_SUITE("container_rates")
{
    TEST_CASE("container_rates: first sight has usage but no rates, the second has rates")
    {
        container_rates rates;
        auto first = rates.update({running("a", 1'000'000'000, 100'000'000'000, 0, 0, t0)});
        REQUIRE(first.size() == 1);
        CHECK(first[0].name == "a-name");
        CHECK(first[0].memory_bytes == 1000u);
        CHECK(first[0].memory_limit_bytes == 8000u);
        CHECK_FALSE(first[0].cpu_percent);
        CHECK_FALSE(first[0].rx_bytes_per_s);
        CHECK_FALSE(first[0].stale);

        // 5 s later: the container used 2 s of CPU while the 4 cores together ran 20 s: 10% of the
        // machine, i.e. 40% of one core as docker stats shows it.
        auto second = rates.update({running("a", 3'000'000'000, 120'000'000'000, 5000, 10000, t0 + 5s)});
        REQUIRE(second[0].cpu_percent);
        CHECK(*second[0].cpu_percent == doctest::Approx(40.0));
        CHECK(*second[0].rx_bytes_per_s == doctest::Approx(1000.0));
        CHECK(*second[0].tx_bytes_per_s == doctest::Approx(2000.0));
    }

    TEST_CASE("container_rates: late stats keep the last values, stale, the next rate spans both")
    {
        container_rates rates;
        rates.update({running("a", 0, 100'000'000'000, 0, 0, t0)});
        auto ok = rates.update({running("a", 1'000'000'000, 110'000'000'000, 1000, 0, t0 + 1s)});
        container_reading late;
        late.entry = {"a", "a-name", "img", "running", "Up"};
        late.stats_missing = true;
        auto stale = rates.update({late});
        REQUIRE(stale.size() == 1);
        CHECK(stale[0].stale);
        CHECK(stale[0].cpu_percent == ok[0].cpu_percent);
        CHECK(stale[0].memory_bytes == ok[0].memory_bytes);
        CHECK(stale[0].rx_bytes_per_s == ok[0].rx_bytes_per_s);
        auto back = rates.update({running("a", 2'000'000'000, 130'000'000'000, 3000, 0, t0 + 3s)});
        CHECK_FALSE(back[0].stale);
        CHECK(*back[0].rx_bytes_per_s == doctest::Approx(1000.0)); // 2000 bytes over 2 s
        CHECK(*back[0].cpu_percent == doctest::Approx(20.0));      // 1 s of 20 s, times 4 cores
    }

    TEST_CASE("container_rates: late stats of a container never seen give no numbers and no stale mark")
    {
        container_rates rates;
        container_reading late;
        late.entry = {"a", "a", "img", "running", "Up"};
        late.stats_missing = true;
        auto out = rates.update({late});
        CHECK_FALSE(out[0].stale);
        CHECK_FALSE(out[0].memory_bytes);
        CHECK_FALSE(out[0].cpu_percent);
    }

    TEST_CASE("container_rates: counters going backwards (a restart) give no rate that round")
    {
        container_rates rates;
        rates.update({running("a", 5'000'000'000, 100'000'000'000, 9000, 9000, t0)});
        auto out = rates.update({running("a", 1'000, 101'000'000'000, 10, 10, t0 + 1s)});
        CHECK_FALSE(out[0].cpu_percent);
        CHECK_FALSE(out[0].rx_bytes_per_s);
        CHECK(out[0].memory_bytes == 1000u);
        auto next = rates.update({running("a", 1'000'000'000, 102'000'000'000, 1010, 10, t0 + 2s)});
        CHECK(next[0].cpu_percent);
        CHECK(*next[0].rx_bytes_per_s == doctest::Approx(1000.0));
    }

    TEST_CASE("container_rates: stopped containers have no numbers and are forgotten, gone ones too")
    {
        container_rates rates;
        rates.update({running("a", 0, 100, 0, 0, t0), running("b", 0, 100, 0, 0, t0)});
        CHECK(rates.tracked() == 2);
        container_reading stopped;
        stopped.entry = {"a", "a", "img", "exited", "Exited (0)"};
        auto out = rates.update({stopped});
        REQUIRE(out.size() == 1);
        CHECK_FALSE(out[0].memory_bytes);
        CHECK_FALSE(out[0].stale);
        CHECK(rates.tracked() == 0);
    }

    TEST_CASE("container_rates: no system time elapsed gives no CPU figure rather than a division by zero")
    {
        container_rates rates;
        rates.update({running("a", 0, 100, 0, 0, t0)});
        auto out = rates.update({running("a", 10, 100, 0, 0, t0)});
        CHECK_FALSE(out[0].cpu_percent);
        CHECK_FALSE(out[0].rx_bytes_per_s);
    }

    TEST_CASE("container_rates: live stats only for running and paused containers")
    {
        CHECK(has_live_stats("running"));
        CHECK(has_live_stats("paused"));
        CHECK_FALSE(has_live_stats("exited"));
        CHECK_FALSE(has_live_stats("created"));
        CHECK_FALSE(has_live_stats("restarting"));
        CHECK_FALSE(has_live_stats(""));
    }
}
