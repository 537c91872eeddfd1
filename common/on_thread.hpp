#pragma once
// Awaits blocking work (SQLite, fsync, /proc reads, argon2id) on another thread from a coroutine:
// `auto r = co_await run_on(pool, [&] { return blocking_call(); });` resumes the caller on its own
// executor with f's result.
// Not cancellable: the caller's cancellation is not forwarded to the work. Blocking work cannot be
// interrupted anyway, and Boost 1.81's co_spawn forwards a cancellation by dispatching a raw
// pointer to its signal onto the other thread, where it races with the work's end (a use after
// free when the work finishes first). The agent hit it when it stopped while commands were
// recording their ids (its stop cancels every command coroutine).
// f runs on `ex`'s thread; it must not touch io-thread state. f is moved (or copied) into the work
// before anything is awaited. A lambda whose captures have destructors goes in as a named local
// (std::move(named)): GCC 12 destroys such temporaries inside a co_await twice (README).
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <type_traits>
#include <utility>

namespace corvid {

namespace net = boost::asio;

template <class Executor, class F>
auto run_on(Executor& ex, F&& f) -> net::awaitable<std::invoke_result_t<std::decay_t<F>&>>
{
    using R = std::invoke_result_t<std::decay_t<F>&>;
    // Named, not a temporary inside the co_await: GCC 12 destroys such temporaries twice (README).
    auto work = [f = std::forward<F>(f)]() mutable -> net::awaitable<R> { co_return f(); };
    auto started =
        net::co_spawn(ex, std::move(work), net::bind_cancellation_slot(net::cancellation_slot(), net::use_awaitable));
    co_return co_await std::move(started);
}

} // namespace corvid
