#include "agent/logs/rate_limiter.hpp"

#include <doctest/doctest.h>

using corvid::agent::logs::drop_report;
using corvid::agent::logs::rate_limiter;

TEST_SUITE("logs.rate_limiter")
{
    TEST_CASE("logs rate_limiter: a burst of twice the rate, then the rate")
    {
        rate_limiter r(10);
        int passed = 0;
        for (int i = 0; i < 100; ++i)
            passed += r.admit(1000);
        CHECK(passed == 20);
        CHECK(r.dropped() == 80);
        // Half a second later: 5 more tokens.
        passed = 0;
        for (int i = 0; i < 100; ++i)
            passed += r.admit(1500);
        CHECK(passed == 5);
        CHECK(r.dropped() == 175);
    }

    TEST_CASE("logs rate_limiter: drops are reported once, when a token is back or a second has passed")
    {
        rate_limiter r(10);
        for (int i = 0; i < 25; ++i)
            r.admit(0);
        CHECK_FALSE(r.take_report(0));  // no token yet, and no time has passed
        CHECK_FALSE(r.take_report(50)); // 0.5 tokens
        auto n = r.take_report(100);    // one token back
        REQUIRE(n);
        CHECK(*n == 5);
        CHECK_FALSE(r.take_report(5000)); // reported once
        CHECK(r.dropped() == 0);

        // A source that keeps flooding never has a token at poll time; the report comes after 1 s.
        rate_limiter flood(1);
        int passed = 0;
        for (std::int64_t t = 0; t <= 1000; t += 100) {
            CHECK_FALSE(flood.take_report(t - 1)); // always polled right after the last token went
            for (int i = 0; i < 50; ++i)
                passed += flood.admit(t);
        }
        CHECK(passed == 3); // the burst of 2, and the token refilled by t = 1000
        n = flood.take_report(1000);
        REQUIRE(n);
        CHECK(*n == 550 - 3);
    }

    TEST_CASE("logs rate_limiter: a clock stepped backwards adds no tokens")
    {
        rate_limiter r(1);
        CHECK(r.admit(10000));
        CHECK(r.admit(10000));
        CHECK_FALSE(r.admit(5000));
        CHECK_FALSE(r.admit(10500));
        CHECK(r.admit(11000));
    }

    TEST_CASE("logs drop_report: a WARN entry of the source that names the count and the limit")
    {
        const auto e = drop_report("/var/log/app.log", 1234, 200, 42, 8192);
        CHECK(e.level == "WARN");
        CHECK(e.source == "/var/log/app.log");
        CHECK(e.timestamp_ms == 42);
        CHECK(e.message == "1234 lines dropped from /var/log/app.log (rate limit 200/s)");
        CHECK_FALSE(e.truncated);
    }
}
