#pragma once
// Deadlines for WebSocket operations: `co_await (conn.read() || abort_after(conn, 10s))`.
// If the time passes first the connection is aborted, which ends the other operation with an
// error; if the operation finishes first the timer is cancelled and nothing happens.
// io thread only.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/ws_connection.hpp"

namespace corvid {

using namespace boost::asio::experimental::awaitable_operators;
inline constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

inline net::awaitable<void> abort_after(ws_connection& conn, std::chrono::steady_clock::duration d)
{
    net::steady_timer timer(co_await net::this_coro::executor, d);
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (!ec)
        conn.abort();
}

// Waits on a timer used as a condition variable (expires never; cancel() wakes the waiter).
inline net::awaitable<void> wait_for_wake(net::steady_timer& timer)
{
    timer.expires_at(net::steady_timer::time_point::max());
    co_await timer.async_wait(use_tuple);
}

} // namespace corvid
