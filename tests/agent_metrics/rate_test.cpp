#include "agent/metrics/rate.hpp"

#include <doctest/doctest.h>
#include <limits>

using namespace corvid::agent::metrics;

TEST_SUITE("agent.metrics.rate")
{
    TEST_CASE("counter_delta: an increase is the difference")
    {
        CHECK(counter_delta(100, 250) == 150);
        CHECK(counter_delta(7, 7) == 0);
        CHECK(counter_delta(0, std::numeric_limits<std::uint64_t>::max()) == std::numeric_limits<std::uint64_t>::max());
    }

    TEST_CASE("counter_delta: a decrease from a 32-bit value is a 32-bit wrap")
    {
        CHECK(counter_delta(4294967000u, 704) == 1000);
        CHECK(counter_delta(4294967295u, 0) == 1);
        CHECK(counter_delta(10, 5) == 4294967291u); // read as a wrap: below 2^32, never 2^64-ish
    }

    TEST_CASE("counter_delta: a decrease from a wider value is a reset, counting from 0")
    {
        CHECK(counter_delta(10'000'000'000u, 4000) == 4000);
        CHECK(counter_delta(4294967296u, 12) == 12); // 2^32 itself does not fit in 32 bits
        CHECK(counter_delta(std::numeric_limits<std::uint64_t>::max(), 0) == 0);
    }

    TEST_CASE("per_second: no rate without positive finite time")
    {
        CHECK(per_second(1000, 2.0) == doctest::Approx(500));
        CHECK(per_second(1000, 0) == 0);
        CHECK(per_second(1000, -1) == 0);
        CHECK(per_second(1000, std::numeric_limits<double>::quiet_NaN()) == 0);
        CHECK(per_second(1000, std::numeric_limits<double>::infinity()) == 0);
        CHECK(per_second(std::numeric_limits<std::uint64_t>::max(), std::numeric_limits<double>::denorm_min()) == 0);
    }

    TEST_CASE("percent_of: within 0-100 and finite")
    {
        CHECK(percent_of(1, 4) == doctest::Approx(25));
        CHECK(percent_of(5, 4) == 100);
        CHECK(percent_of(-1, 4) == 0);
        CHECK(percent_of(1, 0) == 0);
        CHECK(percent_of(1, -3) == 0);
        CHECK(percent_of(std::numeric_limits<double>::quiet_NaN(), 4) == 0);
        CHECK(percent_of(1, std::numeric_limits<double>::infinity()) == 0);
        CHECK(clamp_percent(std::numeric_limits<double>::infinity()) == 100);
        CHECK(clamp_percent(-std::numeric_limits<double>::infinity()) == 0);
        CHECK(clamp_percent(42.5) == 42.5);
    }
}
