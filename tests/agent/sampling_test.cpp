#include "agent/sampling.hpp"

#include <doctest/doctest.h>

using corvid::agent::next_tick_ms;

TEST_SUITE("agent.sampling")
{
    TEST_CASE("next_tick_ms: the next wall-clock multiple of the interval")
    {
        CHECK(next_tick_ms(0, 5000) == 5000);
        CHECK(next_tick_ms(4999, 5000) == 5000);
        CHECK(next_tick_ms(5000, 5000) == 10000); // strictly after: a tick is never taken twice
        CHECK(next_tick_ms(1767225601234, 5000) == 1767225605000);
        CHECK(next_tick_ms(1767225601234, 60000) == 1767225660000);
    }
}
