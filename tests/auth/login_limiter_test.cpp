#include "collector/auth/login_limiter.hpp"

#include <doctest/doctest.h>
#include <string>

using namespace corvid::collector;
using namespace std::chrono_literals;

namespace {
const login_limiter::time_point t0{std::chrono::hours(1000)};
}

TEST_SUITE("auth.login_limiter")
{
    TEST_CASE("login_limiter: blocks after max_failures within the window")
    {
        login_limiter limiter({.max_failures = 3, .window = 60s});
        for (int i = 0; i < 3; ++i) {
            CHECK_FALSE(limiter.retry_after("10.0.0.1", t0 + std::chrono::seconds(i)).has_value());
            limiter.record_failure("10.0.0.1", t0 + std::chrono::seconds(i));
        }
        const auto wait = limiter.retry_after("10.0.0.1", t0 + 3s);
        REQUIRE(wait.has_value());
        CHECK(*wait == 57s); // the first failure (at t0) leaves the window at t0 + 60 s
        CHECK_FALSE(limiter.retry_after("10.0.0.2", t0 + 3s).has_value()); // per address
    }

    TEST_CASE("login_limiter: unblocks when the oldest failure leaves the window (sliding)")
    {
        login_limiter limiter({.max_failures = 3, .window = 60s});
        limiter.record_failure("a", t0);
        limiter.record_failure("a", t0 + 10s);
        limiter.record_failure("a", t0 + 20s);
        CHECK(limiter.retry_after("a", t0 + 59s).has_value());
        CHECK(limiter.retry_after("a", t0 + 59s + 500ms) == 1s); // rounded up, never zero
        CHECK_FALSE(limiter.retry_after("a", t0 + 60s).has_value());
        // One more failure: three again within the last 60 s (10, 20, 60), so blocked until 70 s.
        limiter.record_failure("a", t0 + 60s);
        CHECK(limiter.retry_after("a", t0 + 61s) == 9s);
        CHECK_FALSE(limiter.retry_after("a", t0 + 70s).has_value());
        // Long after, old failures no longer count at all.
        limiter.record_failure("a", t0 + 1000s);
        CHECK_FALSE(limiter.retry_after("a", t0 + 1000s).has_value());
        limiter.record_failure("a", t0 + 1001s);
        CHECK_FALSE(limiter.retry_after("a", t0 + 1001s).has_value());
        limiter.record_failure("a", t0 + 1002s);
        CHECK(limiter.retry_after("a", t0 + 1002s) == 58s);
    }

    TEST_CASE("login_limiter: a success clears the address")
    {
        login_limiter limiter({.max_failures = 2, .window = 60s});
        limiter.record_failure("a", t0);
        limiter.record_success("a");
        limiter.record_failure("a", t0 + 1s);
        CHECK_FALSE(limiter.retry_after("a", t0 + 1s).has_value()); // the cleared failure does not count
        limiter.record_failure("a", t0 + 2s);
        CHECK(limiter.retry_after("a", t0 + 2s).has_value());
        limiter.record_success("a");
        CHECK_FALSE(limiter.retry_after("a", t0 + 2s).has_value());
        CHECK(limiter.tracked() == 0);
        limiter.record_success("never-seen"); // harmless
    }

    TEST_CASE("login_limiter: tracks at most max_tracked addresses, forgetting the stalest")
    {
        login_limiter limiter({.max_failures = 2, .window = 600s, .max_tracked = 3});
        limiter.record_failure("a", t0);
        limiter.record_failure("a", t0 + 1s); // a blocked
        limiter.record_failure("b", t0 + 2s);
        limiter.record_failure("b", t0 + 3s); // b blocked
        limiter.record_failure("c", t0 + 4s);
        limiter.record_failure("a", t0 + 5s); // a is now the most recently failed
        CHECK(limiter.tracked() == 3);
        limiter.record_failure("d", t0 + 6s); // full: b failed least recently and goes
        CHECK(limiter.tracked() == 3);
        CHECK_FALSE(limiter.retry_after("b", t0 + 6s).has_value());
        CHECK(limiter.retry_after("a", t0 + 6s).has_value());

        for (int i = 0; i < 1000; ++i)
            limiter.record_failure("spray-" + std::to_string(i), t0 + 7s);
        CHECK(limiter.tracked() == 3);
    }

    TEST_CASE("login_limiter: addresses whose failures all expired are dropped")
    {
        login_limiter limiter({.max_failures = 5, .window = 60s});
        for (int i = 0; i < 100; ++i)
            limiter.record_failure("old-" + std::to_string(i), t0);
        CHECK(limiter.tracked() == 100);
        limiter.record_failure("new", t0 + 61s);
        CHECK(limiter.tracked() == 1);
    }

    TEST_CASE("login_limiter: defaults")
    {
        login_limiter limiter;
        for (int i = 0; i < 4; ++i)
            limiter.record_failure("x", t0);
        CHECK_FALSE(limiter.retry_after("x", t0).has_value());
        limiter.record_failure("x", t0);
        CHECK(limiter.retry_after("x", t0) == 300s);
    }
}
