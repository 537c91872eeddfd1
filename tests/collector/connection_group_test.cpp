#include "collector/sessions/connection_group.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include "common/deadline.hpp"

namespace corvid::collector {
namespace {
using namespace std::chrono_literals;

// A member that runs until its stop hook wakes it (a polite connection), or that ignores the hook
// (a stuck one), recording how it ended.
struct member_state {
    bool ended = false;
    bool cancelled = false;
};

net::awaitable<void> polite_member(connection_group& group, member_state& state)
{
    net::steady_timer wake(co_await net::this_coro::executor);
    bool asked = false;
    auto hook = group.on_stop([&] {
        asked = true;
        wake.cancel();
    });
    while (!asked)
        co_await wait_for_wake(wake);
    state.ended = true;
}

net::awaitable<void> stuck_member(member_state& state)
{
    net::steady_timer forever(co_await net::this_coro::executor, std::chrono::hours(1));
    auto [ec] = co_await forever.async_wait(use_tuple);
    state.cancelled = ec == net::error::operation_aborted;
    state.ended = true;
}

// Runs the group's stop to its end and returns how long it took on the steady clock.
std::chrono::steady_clock::duration run_stop(net::io_context& io, connection_group& group,
                                             std::chrono::steady_clock::duration deadline)
{
    bool stopped = false;
    const auto started = std::chrono::steady_clock::now();
    net::co_spawn(io, group.stop(deadline), [&](std::exception_ptr) { stopped = true; });
    while (!stopped)
        io.run_one();
    return std::chrono::steady_clock::now() - started;
}
} // namespace

TEST_SUITE("collector.connection_group")
{
    TEST_CASE("connection_group: stop asks every member through its hook and ends once all have ended")
    {
        net::io_context io(1);
        connection_group group(io.get_executor());
        member_state a, b;
        REQUIRE(group.spawn(polite_member(group, a)));
        REQUIRE(group.spawn(polite_member(group, b)));
        io.poll();
        CHECK(group.size() == 2);
        const auto took = run_stop(io, group, std::chrono::hours(1));
        CHECK(a.ended);
        CHECK(b.ended);
        CHECK(group.size() == 0);
        CHECK(took < std::chrono::minutes(1)); // it did not wait for the hour's deadline
    }

    TEST_CASE("connection_group: at the deadline a member that ignores its hook is cancelled and stop returns")
    {
        net::io_context io(1);
        connection_group group(io.get_executor());
        member_state polite, stuck;
        REQUIRE(group.spawn(polite_member(group, polite)));
        REQUIRE(group.spawn(stuck_member(stuck)));
        io.poll();
        run_stop(io, group, 50ms);
        CHECK(polite.ended);
        CHECK_FALSE(stuck.ended);
        io.poll(); // the cancellation reaches the stuck member
        CHECK(stuck.ended);
        CHECK(stuck.cancelled);
        CHECK(group.size() == 0);
    }

    TEST_CASE("connection_group: after stop no member starts, and a late hook runs at once")
    {
        net::io_context io(1);
        connection_group group(io.get_executor());
        run_stop(io, group, 10ms);
        CHECK(group.stopping());
        member_state never;
        CHECK_FALSE(group.spawn(stuck_member(never)));
        io.poll();
        CHECK_FALSE(never.ended);
        bool ran = false;
        auto hook = group.on_stop([&] { ran = true; });
        CHECK(ran);
    }

    TEST_CASE("connection_group: a hook that is gone is not called")
    {
        net::io_context io(1);
        connection_group group(io.get_executor());
        int calls = 0;
        {
            auto gone = group.on_stop([&] { ++calls; });
        }
        auto kept = group.on_stop([&] { ++calls; });
        auto moved = std::move(kept);
        run_stop(io, group, 10ms);
        CHECK(calls == 1);
    }
}

} // namespace corvid::collector
