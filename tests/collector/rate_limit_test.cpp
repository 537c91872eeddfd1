#include "collector/limits/rate_limit.hpp"
#include "proto/codec.hpp"

#include <doctest/doctest.h>

using namespace corvid::collector;
using namespace std::chrono_literals;

TEST_SUITE("collector.rate_limit")
{
    const auto t0 = limit_clock::time_point{} + 1000h;

    TEST_CASE("token_bucket: a full burst, then the refill rate")
    {
        token_bucket b(10, 5, t0);
        for (int i = 0; i < 5; ++i)
            CHECK(b.try_take(t0));
        CHECK_FALSE(b.try_take(t0));
        CHECK_FALSE(b.try_take(t0 + 50ms)); // half a token
        CHECK(b.try_take(t0 + 100ms));
        CHECK_FALSE(b.try_take(t0 + 100ms));
        // Refill stops at the burst.
        for (int i = 0; i < 5; ++i)
            CHECK(b.try_take(t0 + 1h));
        CHECK_FALSE(b.try_take(t0 + 1h));
    }

    TEST_CASE("token_bucket: wait_for says when tokens will be there")
    {
        token_bucket b(10, 5, t0);
        CHECK(b.wait_for(5, t0) == limit_clock::duration::zero());
        for (int i = 0; i < 5; ++i)
            REQUIRE(b.try_take(t0));
        CHECK(b.available(t0) == doctest::Approx(0));
        CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(b.wait_for(1, t0)).count() == 100);
        CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(b.wait_for(2.5, t0 + 50ms)).count() == 200);
        CHECK(b.wait_for(1, t0 + 100ms) == limit_clock::duration::zero());
    }

    TEST_CASE("token_bucket: retry_after is whole seconds, at least 1")
    {
        token_bucket slow(0.1, 1, t0); // one token per 10 s
        CHECK(slow.retry_after_s(t0) == 1); // a token is there
        CHECK(slow.try_take(t0));
        CHECK(slow.retry_after_s(t0) == 10);
        CHECK(slow.retry_after_s(t0 + 9500ms) == 1);
        token_bucket fast(50, 10, t0);
        for (int i = 0; i < 10; ++i)
            CHECK(fast.try_take(t0));
        CHECK(fast.retry_after_s(t0) == 1); // 20 ms, rounded up
    }

    TEST_CASE("token_bucket: time going backwards does not mint tokens")
    {
        token_bucket b(1, 1, t0);
        CHECK(b.try_take(t0));
        CHECK_FALSE(b.try_take(t0 - 10s));
        CHECK_FALSE(b.try_take(t0 + 500ms));
    }

    TEST_CASE("message_rate_limiter: frontend policy drops, then closes after 5 s of continuous violation")
    {
        message_rate_limiter l(frontend_message_rate, t0);
        for (int i = 0; i < 50; ++i)
            CHECK(l.on_message(t0) == rate_verdict::allow);
        CHECK(l.on_message(t0) == rate_verdict::drop);
        CHECK(l.retry_after_s(t0) == 1);
        // A flood of 100 msgs/s: a fifth allowed by the refill, the rest dropped, closed at 5 s.
        auto t = t0;
        rate_verdict last = rate_verdict::drop;
        while (t < t0 + 4900ms) {
            t += 10ms;
            last = l.on_message(t);
            CHECK(last != rate_verdict::close);
        }
        t = t0 + 5s;
        l.on_message(t); // may take the token refilled in the last 10 ms
        l.on_message(t);
        CHECK(l.on_message(t) == rate_verdict::close);
    }

    TEST_CASE("message_rate_limiter: a pause of more than a second ends the violation episode")
    {
        message_rate_limiter l(frontend_message_rate, t0);
        for (int i = 0; i < 50; ++i)
            l.on_message(t0);
        CHECK(l.on_message(t0) == rate_verdict::drop);
        // The sender slows down: after 3 s the bucket has refilled, and a new burst is fine.
        for (int i = 0; i < 50; ++i)
            CHECK(l.on_message(t0 + 3s) == rate_verdict::allow);
        // A new violation at 3 s starts a new episode.
        CHECK(l.on_message(t0 + 3s) == rate_verdict::drop);
        CHECK(l.on_message(t0 + 5500ms) == rate_verdict::allow); // refilled meanwhile, ends the episode
        for (int i = 0; i < 60; ++i)
            l.on_message(t0 + 5600ms);
        CHECK(l.on_message(t0 + 5600ms) == rate_verdict::drop);
    }

    TEST_CASE("message_rate_limiter: an agent pacing itself as PROTOCOL.md 8 says is never refused")
    {
        // The agent's own bucket (proto::agent_send_*), sending as fast as it lets it for ten
        // minutes: a whole backlog replay. The collector's limit must never trip.
        message_rate_limiter collector(agent_message_rate, t0);
        token_bucket agent(corvid::proto::agent_send_rate_per_s, corvid::proto::agent_send_burst, t0);
        int sent = 0;
        for (auto t = t0; t < t0 + 600s; t += 1ms) {
            while (agent.try_take(t)) {
                REQUIRE(collector.on_message(t) == rate_verdict::allow);
                ++sent;
            }
        }
        CHECK(sent >= 45 * 600);
    }

    TEST_CASE("message_rate_limiter: agent policy closes at once beyond its burst")
    {
        message_rate_limiter l(agent_message_rate, t0);
        for (int i = 0; i < 1000; ++i)
            CHECK(l.on_message(t0) == rate_verdict::allow);
        CHECK(l.on_message(t0) == rate_verdict::close);
    }

    TEST_CASE("connection_limiter: counts per address, frees on close")
    {
        connection_limiter c(2);
        CHECK(c.try_open("10.0.0.1"));
        CHECK(c.try_open("10.0.0.1"));
        CHECK_FALSE(c.try_open("10.0.0.1"));
        CHECK(c.try_open("10.0.0.2")); // per address
        CHECK(c.open("10.0.0.1") == 2);
        c.closed("10.0.0.1");
        CHECK(c.try_open("10.0.0.1"));
        c.closed("10.0.0.1");
        c.closed("10.0.0.1");
        c.closed("10.0.0.1"); // one too many: harmless
        CHECK(c.open("10.0.0.1") == 0);
        connection_limiter none(0);
        CHECK_FALSE(none.try_open("10.0.0.3"));
        CHECK(none.open("10.0.0.3") == 0);
    }

    TEST_CASE("connection_limiter: one refusal log line per address per minute, with the count unlogged")
    {
        connection_limiter c(1);
        CHECK(c.refusal_to_log("a", t0) == std::optional<std::uint64_t>(0));
        CHECK_FALSE(c.refusal_to_log("a", t0 + 1s).has_value());
        CHECK_FALSE(c.refusal_to_log("a", t0 + 59s).has_value());
        CHECK(c.refusal_to_log("b", t0 + 2s) == std::optional<std::uint64_t>(0)); // per address
        CHECK(c.refusal_to_log("a", t0 + 60s) == std::optional<std::uint64_t>(2));
        CHECK_FALSE(c.refusal_to_log("a", t0 + 61s).has_value());
    }
}
