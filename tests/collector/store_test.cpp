#include "collector/storage/store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>
#include <future>

#include "collector/storage/sqlite_storage.hpp"
#include "tests/support/temp_dir.hpp"

namespace corvid::collector {
namespace {

// A store on a real SQLite file whose writer thread the test can hold, so the write queue stays
// full for as long as the test wants.
struct held_store {
    test::temp_dir dir;
    net::io_context io{1};
    std::promise<void> release;
    std::unique_ptr<store> db;

    explicit held_store(store::queue_limits limits)
    {
        auto open = [path = dir.file("corvid.db")] { return open_sqlite_storage({.path = path}); };
        auto writer = open();
        REQUIRE(writer);
        db = std::make_unique<store>(io.get_executor(), std::move(*writer), open, limits);
        // Occupies the writer thread until release is set: nothing queued behind it commits.
        std::promise<void> entered;
        auto holding = entered.get_future();
        net::co_spawn(io, db->write([&entered, f = release.get_future().share()](storage&) -> storage_result<void> {
            entered.set_value();
            f.wait();
            return {};
        }), net::detached);
        while (holding.wait_for(std::chrono::milliseconds(1)) != std::future_status::ready)
            io.poll();
    }
    ~held_store()
    {
        release.set_value();
        db->stop();
    }

    void submit(std::string json) { db->submit_sample(sample_row{"s1", next_ms_++, {}, {}, {}, std::move(json)}, [](auto) {}); }

    std::int64_t next_ms_ = 1'700'000'000'000;
};

// Runs `waiters` coroutines that wait for space in a full queue, for 300 ms of io time, and
// returns how many handlers the io thread ran meanwhile.
std::size_t handlers_run_while_full(std::size_t waiters)
{
    held_store s({.max_items = 1, .max_bytes = 1 << 20});
    s.submit("{}");
    REQUIRE(s.db->write_queue_full());
    std::size_t passed = 0;
    for (std::size_t i = 0; i < waiters; ++i)
        net::co_spawn(s.io, [&]() -> net::awaitable<void> {
            co_await s.db->wait_for_write_space();
            ++passed;
        }, net::detached);
    const auto handlers = s.io.run_for(std::chrono::milliseconds(300));
    CHECK(passed == 0); // the queue never had room
    return handlers;
}

} // namespace

TEST_SUITE("store")
{
    // Issue 12.11: each waiter re-armed the one shared timer, which cancelled the other waiters'
    // waits; they woke each other ~200,000 times in 500 ms and burnt the io thread's core exactly
    // when the collector was overloaded. A waiter must sleep until a commit frees space.
    TEST_CASE("store: issue 12.11 waiters for a full write queue do not wake each other (2 and 8 waiters)")
    {
        for (std::size_t waiters : {2u, 8u}) {
            CAPTURE(waiters);
            // Starting each coroutine and the held write take a few handlers each; a spin takes
            // tens of thousands.
            CHECK(handlers_run_while_full(waiters) < 10 * waiters + 20);
        }
    }

    TEST_CASE("store: waiters go on once a commit frees space, and the byte bound counts as much as the item bound")
    {
        held_store s({.max_items = 1000, .max_bytes = 4096});
        s.submit(std::string(3000, 'x'));
        CHECK_FALSE(s.db->write_queue_full());
        s.submit(std::string(2000, 'y')); // 5000 bytes queued: over the byte bound, far under the item bound
        CHECK(s.db->write_queue_full());
        CHECK(s.db->queued_items() == 2);
        int passed = 0;
        for (int i = 0; i < 2; ++i)
            net::co_spawn(s.io, [&]() -> net::awaitable<void> {
                co_await s.db->wait_for_write_space();
                ++passed;
            }, net::detached);
        s.io.run_for(std::chrono::milliseconds(50));
        CHECK(passed == 0);

        s.release.set_value();
        s.release = {}; // the destructor sets a fresh one
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (passed < 2 && std::chrono::steady_clock::now() < deadline)
            s.io.run_for(std::chrono::milliseconds(20));
        CHECK(passed == 2);
        CHECK(s.db->queued_bytes() == 0);
        CHECK(s.db->queued_items() == 0);
    }
}

} // namespace corvid::collector
