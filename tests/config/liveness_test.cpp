#include "agent/liveness.hpp"

#include <doctest/doctest.h>
#include <stdexcept>

using corvid::agent::liveness;
using verdict = liveness::verdict;
using namespace std::chrono_literals;

namespace {
// An arbitrary origin: the policy must only ever look at differences.
const liveness::clock::time_point t0 = liveness::clock::time_point{} + 1000h;
} // namespace

TEST_SUITE("agent.liveness")
{
    TEST_CASE("liveness: alive within one interval, ping after one, dead after three")
    {
        liveness l(5s, t0);
        CHECK(l.check(t0) == verdict::alive);
        CHECK(l.check(t0 + 4999ms) == verdict::alive);
        CHECK(l.check(t0 + 5s) == verdict::send_ping);
        CHECK(l.check(t0 + 14999ms) == verdict::send_ping); // no ping was sent, so still asking
        CHECK(l.check(t0 + 15s) == verdict::dead);
        CHECK(l.check(t0 + 1h) == verdict::dead);
    }

    TEST_CASE("liveness: one ping per quiet interval")
    {
        liveness l(5s, t0);
        REQUIRE(l.check(t0 + 5s) == verdict::send_ping);
        l.on_ping_sent(t0 + 5s);
        CHECK(l.check(t0 + 5s) == verdict::alive);
        CHECK(l.check(t0 + 9999ms) == verdict::alive);
        CHECK(l.check(t0 + 10s) == verdict::send_ping); // the ping is an interval old: ask again
        l.on_ping_sent(t0 + 10s);
        CHECK(l.check(t0 + 12s) == verdict::alive);
        CHECK(l.check(t0 + 15s) == verdict::dead); // pings do not keep the link alive, answers do
    }

    TEST_CASE("liveness: anything received resets the clock and the ping")
    {
        liveness l(5s, t0);
        l.on_ping_sent(t0 + 5s);
        l.on_received(t0 + 12s);
        CHECK(l.check(t0 + 15s) == verdict::alive);
        CHECK(l.check(t0 + 16999ms) == verdict::alive);
        // The ping before the receipt does not count: a new quiet interval needs a new ping.
        CHECK(l.check(t0 + 17s) == verdict::send_ping);
        CHECK(l.check(t0 + 26999ms) == verdict::send_ping);
        CHECK(l.check(t0 + 27s) == verdict::dead);
    }

    TEST_CASE("liveness: next_check is the earliest time the verdict can change")
    {
        liveness l(5s, t0);
        CHECK(l.next_check(t0) == t0 + 5s);
        CHECK(l.next_check(t0 + 2s) == t0 + 5s);
        // Due now: the caller pings, then asks again.
        CHECK(l.next_check(t0 + 6s) == t0 + 6s);
        l.on_ping_sent(t0 + 6s);
        CHECK(l.next_check(t0 + 6s) == t0 + 11s);
        CHECK(l.check(t0 + 11s) == verdict::send_ping);
        l.on_ping_sent(t0 + 11s);
        // The next ping would be at 16 s, but the link is dead at 15 s.
        CHECK(l.next_check(t0 + 11s) == t0 + 15s);
        CHECK(l.check(t0 + 15s) == verdict::dead);
        CHECK(l.next_check(t0 + 20s) == t0 + 20s);

        l.on_received(t0 + 20s);
        CHECK(l.next_check(t0 + 20s) == t0 + 25s);
        CHECK(l.check(t0 + 24s) == verdict::alive);
    }

    TEST_CASE("liveness: following next_check from the start reaches dead after three intervals")
    {
        liveness l(2s, t0);
        auto now = t0;
        int pings = 0;
        for (int step = 0; step < 20; ++step) {
            now = l.next_check(now);
            const auto v = l.check(now);
            if (v == verdict::dead)
                break;
            if (v == verdict::send_ping) {
                l.on_ping_sent(now);
                ++pings;
            }
        }
        CHECK(l.check(now) == verdict::dead);
        CHECK(now == t0 + 6s);
        CHECK(pings == 2);
    }

    TEST_CASE("liveness: a non-positive interval is a bug")
    {
        CHECK_THROWS_AS(liveness(0ms, t0), std::invalid_argument);
    }
}
