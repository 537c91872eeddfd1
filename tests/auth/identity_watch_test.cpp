#include "collector/auth/identity_watch.hpp"

#include "tests/support/temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <doctest/doctest.h>
#include <optional>
#include <vector>

#include "collector/storage/sqlite_storage.hpp"

using namespace corvid::collector;
using corvid::test::temp_dir;

namespace {
user_record user(std::string name, role r, std::int64_t gen = 0, bool disabled = false)
{
    user_record u{std::move(name), "hash", r, 1};
    u.token_generation = gen;
    u.disabled = disabled;
    return u;
}

audit_record by_test()
{
    audit_record a;
    a.at_ms = 1;
    a.actor = "test";
    return a;
}
} // namespace

TEST_SUITE("auth.identity_watch")
{
    TEST_CASE("check_identity: deleted, disabled, role, generation, expiry, in that order")
    {
        const watched_identity id{"alice", 3, 1000, role::operator_};
        const auto ok = user("alice", role::operator_, 3);
        CHECK_FALSE(check_identity(id, &ok, 999).has_value());
        CHECK(check_identity(id, nullptr, 0) == revocation::user_deleted);
        const auto off = user("alice", role::admin, 3, true);
        CHECK(check_identity(id, &off, 0) == revocation::user_disabled);
        const auto viewer = user("alice", role::viewer, 4);
        CHECK(check_identity(id, &viewer, 0) == revocation::role_insufficient);
        const auto admin = user("alice", role::admin, 3);
        CHECK_FALSE(check_identity(id, &admin, 0).has_value()); // a promotion alone is fine
        const auto moved_on = user("alice", role::operator_, 4);
        CHECK(check_identity(id, &moved_on, 0) == revocation::token_revoked);
        CHECK(check_identity(id, &ok, 1000) == revocation::token_expired);
        CHECK(revocation_code(revocation::user_deleted) == "user_deleted");
        CHECK(revocation_code(revocation::token_expired) == "token_expired");
    }

    TEST_CASE("identity_watch: apply calls each revoked socket once and drops its registration")
    {
        net::io_context io;
        identity_watch watch(io.get_executor(), {});
        std::vector<std::pair<int, revocation>> calls;
        const auto a = watch.watch({"alice", 0, 100, role::viewer}, [&](revocation r) { calls.emplace_back(1, r); });
        watch.watch({"bob", 0, 100, role::viewer}, [&](revocation r) { calls.emplace_back(2, r); });
        watch.watch({"bob", 0, 100, role::admin}, [&](revocation r) { calls.emplace_back(3, r); });
        watch.apply({user("alice", role::viewer), user("bob", role::operator_)}, 10);
        REQUIRE(calls.size() == 1);
        CHECK(calls[0] == std::pair{3, revocation::role_insufficient});
        CHECK(watch.size() == 2);
        watch.unwatch(a);
        watch.apply({}, 10); // everyone deleted: only bob's socket is left to tell
        REQUIRE(calls.size() == 2);
        CHECK(calls[1] == std::pair{2, revocation::user_deleted});
        CHECK(watch.size() == 0);
    }

    // Issue 12.5: deleting a user left its open logs socket streaming. The watch reads the real
    // users table (SQLite, as the collector does) and revokes the socket of a deleted user.
    TEST_CASE("identity_watch: issue12_5 deleted_user_socket_closed by the loop after a change in storage")
    {
        temp_dir dir;
        auto opened = open_sqlite_storage({.path = dir.file("corvid.db")});
        REQUIRE(opened.has_value());
        auto& db = **opened;
        REQUIRE(db.add_user(user("root", role::admin)).has_value());
        REQUIRE(db.add_user(user("alice", role::viewer)).has_value());

        net::io_context io;
        int reads = 0;
        // The collector reads on a store thread; here the read runs inline (a test, no io to protect).
        identity_watch watch(
            io.get_executor(),
            [&]() -> net::awaitable<storage_result<std::vector<user_record>>> {
                ++reads;
                co_return db.list_users();
            },
            std::chrono::milliseconds(20), [] { return std::int64_t{50}; });
        net::co_spawn(io, watch.run(), net::detached);
        std::optional<revocation> alice_revoked, root_revoked;
        watch.watch({"alice", 0, 100, role::viewer}, [&](revocation r) { alice_revoked = r; });
        watch.watch({"root", 0, 100, role::viewer}, [&](revocation r) { root_revoked = r; });

        const auto until = [&](auto done) {
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (!done() && std::chrono::steady_clock::now() < deadline)
                io.run_for(std::chrono::milliseconds(10));
        };
        until([&] { return reads >= 3; });
        CHECK_FALSE(alice_revoked.has_value()); // nothing changed: nothing closes

        user_change remove;
        remove.remove = true;
        REQUIRE(db.change_user("alice", remove, by_test()).value().status == user_change_status::done);
        watch.check_soon();
        until([&] { return alice_revoked.has_value(); });
        CHECK(alice_revoked == revocation::user_deleted);
        CHECK_FALSE(root_revoked.has_value());

        // A logout moves root's generation on: its socket goes too.
        user_change logout;
        logout.revoke_tokens = true;
        REQUIRE(db.change_user("root", logout, by_test()).value().status == user_change_status::done);
        until([&] { return root_revoked.has_value(); }); // by polling alone, as after a CLI change
        CHECK(root_revoked == revocation::token_revoked);
        CHECK(watch.size() == 0);

        // With nothing watched the loop reads nothing.
        const int reads_then = reads;
        io.run_for(std::chrono::milliseconds(100));
        CHECK(reads == reads_then);
        watch.stop();
        io.run_for(std::chrono::milliseconds(50));
    }
}
