#pragma once
// For tests: the collector's parts (app, store) on a real SQLite file in a temp dir, with one admin
// user ("alice") and one server, and helpers to run the io loop until something holds. Sessions
// and REST handlers are tested on it without a listener (session_test, rest_handler_test).
// io thread: the test's.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <optional>

#include "collector/app.hpp"
#include "collector/auth/api_key.hpp"
#include "collector/auth/jwt.hpp"
#include "collector/storage/sqlite_storage.hpp"
#include "common/random.hpp"
#include "common/time_format.hpp"
#include "tests/support/temp_dir.hpp"

namespace corvid::test {
using namespace corvid::collector;
using namespace std::chrono_literals;

// One collector's parts on a real SQLite file, with one admin user and one server.
struct collector_parts {
    temp_dir dir;
    net::io_context io{1};
    std::unique_ptr<store> db;
    std::unique_ptr<app> a;
    std::string server_id = uuid_v4();
    std::string api_key = generate_api_key();

    collector_parts()
    {
        auto open = [path = dir.file("corvid.db")] { return open_sqlite_storage({.path = path}); };
        auto writer = open();
        REQUIRE(writer);
        REQUIRE((*writer)->add_user(user_record{"alice", "unused-hash", role::admin, now_unix_ms(), false, 0}).has_value());
        REQUIRE((*writer)->add_server(server_record{server_id, "web-01", true, now_unix_ms(), {}, {}, {}},
                                      hash_api_key(api_key))
                    .has_value());
        db = std::make_unique<store>(io.get_executor(), std::move(*writer), open, store::queue_limits{});
        a.reset(new app{io.get_executor(), collector_config{}, *db, {}, {}, login_attempts{},
                        std::string(jwt_secret_bytes, 'k'), false, {}, generate_signing_key_pair()});
    }
    ~collector_parts()
    {
        io.restart();
        io.poll(); // sessions still running end their coroutines before the store goes
        db->stop();
    }

    std::string token() const
    {
        const auto now = now_unix_ms() / 1000;
        return issue_token(a->token_secret, token_claims{"alice", now, now + 3600, 0});
    }
    std::string auth_frame() const { return fmt::format(R"({{"type":"auth","token":"{}"}})", token()); }

    // Runs the io loop until `done` holds; fails the test after 10 s.
    template <class Predicate> void run_until(Predicate done)
    {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!done()) {
            if (std::chrono::steady_clock::now() >= deadline)
                FAIL("what the test waits for did not happen within 10 s");
            if (io.stopped())
                io.restart(); // it ran out of work before; the test has queued more
            io.run_one_for(10ms);
        }
    }

    // Runs `session->run()` in the connection group, as the listener does; `ended` is set when it
    // returns.
    template <class Session> void start(std::shared_ptr<Session> session, bool& ended)
    {
        REQUIRE(a->connections.spawn([](std::shared_ptr<Session> s, bool& done) -> net::awaitable<void> {
            co_await s->run();
            done = true;
        }(session, ended)));
    }

    // A storage write awaited to its end, for setting the scene.
    template <class F> auto write(F f) -> decltype(f(std::declval<storage&>()))
    {
        std::optional<decltype(f(std::declval<storage&>()))> out;
        net::co_spawn(io, db->write(std::move(f)), [&](std::exception_ptr, auto r) { out.emplace(std::move(r)); });
        run_until([&] { return out.has_value(); });
        return std::move(*out);
    }

    void stop_connections()
    {
        bool stopped = false;
        net::co_spawn(io, a->connections.stop(5s), [&](std::exception_ptr) { stopped = true; });
        run_until([&] { return stopped; });
    }
};

} // namespace corvid::test
