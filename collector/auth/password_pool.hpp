#pragma once
// Password hashing and verification (argon2id: ~64 MiB and ~0.1 s of one core each) on a small
// pool of their own threads, so a burst of logins never holds the storage reader threads (reads
// such as GET /servers would wait behind it) nor the io thread.
// Bound and policy: at most `threads` calls run and at most `max_waiting` more wait; a call beyond
// that is refused at once (run() yields nothing and the REST API answers 503 with Retry-After)
// rather than queued, so a flood of logins cannot build up minutes of hashing or gigabytes of
// argon2 memory. Together with the login limits (login_attempts.hpp) the pool is rarely full.
// Threading: run() is called and completes on the io thread (its caller's executor); `f` runs on a
// pool thread and must not touch io-thread state. The destructor waits for running calls.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <optional>
#include <type_traits>

#include "common/on_thread.hpp"

namespace corvid::collector {

namespace net = boost::asio;

class password_pool {
public:
    struct options {
        std::size_t threads = 2;     // at least 1
        std::size_t max_waiting = 8; // calls queued behind the running ones
    };

    password_pool() : password_pool(options{}) {}
    explicit password_pool(options o);
    password_pool(const password_pool&) = delete;
    password_pool& operator=(const password_pool&) = delete;
    ~password_pool();

    // Runs f() on a pool thread and yields its result, or yields nothing at once when the pool is
    // full. Not cancellable once started (argon2 cannot be interrupted; it ends within a second).
    template <class F> net::awaitable<std::optional<std::invoke_result_t<F>>> run(F f);

    std::size_t in_flight() const { return in_flight_; } // running + waiting
    std::size_t capacity() const { return options_.threads + options_.max_waiting; }
    // What to put in Retry-After when full: about how long the queue takes to drain.
    static constexpr int retry_after_s = 1;

private:
    options options_;
    net::thread_pool pool_;
    std::size_t in_flight_ = 0; // io thread only
};

template <class F> net::awaitable<std::optional<std::invoke_result_t<F>>> password_pool::run(F f)
{
    using R = std::invoke_result_t<F>;
    if (in_flight_ >= capacity())
        co_return std::nullopt;
    ++in_flight_;
    // Counted down when this frame ends, after it resumed on the caller's (io) thread.
    struct release {
        std::size_t& n;
        ~release() { --n; }
    } guard{in_flight_};
    R r = co_await run_on(pool_, [&f] { return f(); });
    co_return std::optional<R>(std::move(r));
}

} // namespace corvid::collector
