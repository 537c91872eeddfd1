#include "agent/backoff.hpp"

#include <doctest/doctest.h>
#include <stdexcept>
#include <vector>

using corvid::agent::backoff;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

TEST_SUITE("agent.backoff")
{
    TEST_CASE("backoff: jitter 0 gives half of each doubling delay, capped at 30 s")
    {
        backoff b([] { return 0.0; });
        std::vector<milliseconds> got;
        for (int i = 0; i < 8; ++i)
            got.push_back(b.next());
        const std::vector<milliseconds> want{500ms, 1s, 2s, 4s, 8s, 15s, 15s, 15s};
        CHECK(got == want);
    }

    TEST_CASE("backoff: jitter near 1 gives nearly the full delay")
    {
        backoff b([] { return 0.999; });
        const milliseconds full[] = {1s, 2s, 4s, 8s, 16s, 30s, 30s, 30s, 30s};
        for (const auto d : full) {
            const auto got = b.next();
            CAPTURE(d.count());
            CAPTURE(got.count());
            CHECK(got <= d);
            CHECK(got >= d - d / 500); // within 0.2 %
        }
    }

    TEST_CASE("backoff: every delay lies between d/2 and d with the default jitter")
    {
        backoff b;
        const milliseconds full[] = {1s, 2s, 4s, 8s, 16s, 30s, 30s};
        for (int round = 0; round < 50; ++round) {
            for (const auto d : full) {
                const auto got = b.next();
                CHECK(got >= d / 2);
                CHECK(got <= d);
            }
            b.reset();
        }
    }

    TEST_CASE("backoff: reset starts again at 1 s")
    {
        backoff b([] { return 0.0; });
        for (int i = 0; i < 10; ++i)
            b.next();
        CHECK(b.next() == 15s);
        b.reset();
        CHECK(b.next() == 500ms);
        CHECK(b.next() == 1s);
    }

    TEST_CASE("backoff: a jitter source out of range is clamped")
    {
        backoff low([] { return -3.0; });
        CHECK(low.next() == 500ms);
        backoff high([] { return 7.0; });
        CHECK(high.next() == 1s);
    }

    TEST_CASE("backoff: custom initial and cap, and invalid ones are rejected")
    {
        backoff b([] { return 0.0; }, 100ms, 250ms);
        CHECK(b.next() == 50ms);
        CHECK(b.next() == 100ms);
        CHECK(b.next() == 125ms);
        CHECK(b.next() == 125ms);
        CHECK_THROWS_AS(backoff({}, 0ms, 1s), std::invalid_argument);
        CHECK_THROWS_AS(backoff({}, 2s, 1s), std::invalid_argument);
    }
}
