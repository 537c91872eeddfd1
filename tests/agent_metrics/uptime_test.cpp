#include "agent/metrics/uptime.hpp"

#include <doctest/doctest.h>

#include "fixture.hpp"

using namespace corvid::agent::metrics;

TEST_SUITE("agent.metrics.uptime")
{
    TEST_CASE("parse_uptime: whole seconds since boot, rounded down")
    {
        CHECK(parse_uptime(corvid::test::read_fixture("proc-vm/uptime")) == 354123u);
        CHECK(parse_uptime("0.99 0.10\n") == 0u);
        CHECK(parse_uptime("42") == 42u);
    }

    TEST_CASE("parse_uptime: rejects malformed text")
    {
        CHECK_FALSE(parse_uptime(""));
        CHECK_FALSE(parse_uptime("   "));
        CHECK_FALSE(parse_uptime("-5.0 1.0"));
        CHECK_FALSE(parse_uptime("abc 1.0"));
        CHECK_FALSE(parse_uptime("inf 1.0"));
        CHECK_FALSE(parse_uptime("1e300 1.0"));
    }
}
