#include "agent/metrics/load.hpp"

#include <doctest/doctest.h>

#include "fixture.hpp"

using namespace corvid::agent::metrics;

TEST_SUITE("agent.metrics.load")
{
    TEST_CASE("parse_loadavg: reads the three averages")
    {
        const auto load = parse_loadavg(corvid::test::read_fixture("proc-vm/loadavg"));
        REQUIRE(load);
        CHECK((*load)[0] == doctest::Approx(0.52));
        CHECK((*load)[1] == doctest::Approx(0.58));
        CHECK((*load)[2] == doctest::Approx(0.59));
        CHECK(parse_loadavg("12.00 8.50 4.25")); // the task and pid fields are not needed
    }

    TEST_CASE("parse_loadavg: rejects malformed text")
    {
        CHECK_FALSE(parse_loadavg(""));
        CHECK_FALSE(parse_loadavg("\n0.1 0.2 0.3"));
        CHECK_FALSE(parse_loadavg("0.52 0.58"));
        CHECK_FALSE(parse_loadavg("0.52 x 0.59 1/2 3"));
        CHECK_FALSE(parse_loadavg("0.52 -0.58 0.59 1/2 3"));
        CHECK_FALSE(parse_loadavg("nan 0.58 0.59 1/2 3"));
        CHECK_FALSE(parse_loadavg("0,52 0,58 0,59 1/2 3"));
    }
}
