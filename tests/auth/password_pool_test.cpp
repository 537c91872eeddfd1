#include "collector/auth/password_pool.hpp"

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <doctest/doctest.h>
#include <future>
#include <optional>
#include <thread>
#include <vector>

using namespace corvid::collector;

TEST_SUITE("auth.password_pool")
{
    // Issue 12.7: argon2id ran on the storage reader threads without bound, so 40 failed logins
    // stalled reads. Hashing has its own pool now, and a full pool refuses at once (503) rather
    // than queueing.
    TEST_CASE("password_pool: issue12_7 runs on its own threads and refuses at once when full")
    {
        net::io_context io;
        password_pool pool({.threads = 1, .max_waiting = 2});
        CHECK(pool.capacity() == 3);
        std::promise<void> release;
        const auto gate = release.get_future().share();
        const auto io_thread = std::this_thread::get_id();
        std::atomic<int> ran{0};
        std::vector<std::optional<int>> results;
        std::vector<bool> resumed_on_io;
        for (int i = 0; i < 4; ++i) {
            net::co_spawn(io, [&, i]() -> net::awaitable<void> {
                auto r = co_await pool.run([&, i] {
                    CHECK(std::this_thread::get_id() != io_thread);
                    gate.wait_for(std::chrono::seconds(30)); // every wait has a deadline
                    ++ran;
                    return i;
                });
                resumed_on_io.push_back(std::this_thread::get_id() == io_thread);
                results.push_back(r);
            }, net::detached);
        }
        // The fourth call finds 1 running + 2 waiting and is refused without waiting for the gate.
        while (results.empty() && io.run_one_for(std::chrono::seconds(10)) > 0) {
        }
        REQUIRE(results.size() == 1);
        CHECK_FALSE(results[0].has_value());
        CHECK(pool.in_flight() == 3);
        release.set_value();
        while (results.size() < 4 && io.run_one_for(std::chrono::seconds(10)) > 0) {
        }
        REQUIRE(results.size() == 4);
        CHECK(ran == 3);
        CHECK(pool.in_flight() == 0);
        for (bool on_io : resumed_on_io)
            CHECK(on_io);
        // Free again. (The io_context stopped when it ran out of work: restart it.)
        io.restart();
        std::optional<std::optional<int>> again;
        net::co_spawn(io, [&]() -> net::awaitable<void> { again = co_await pool.run([] { return 42; }); }, net::detached);
        while (!again && io.run_one_for(std::chrono::seconds(10)) > 0) {
        }
        REQUIRE(again.has_value());
        CHECK(*again == std::optional<int>(42));
    }
}
