// Conformance: users, their changes and the last-admin rule, through the storage interface only.
#include "tests/storage/conformance/backend.hpp"

#include <doctest/doctest.h>
#include <string>
#include <vector>

using namespace corvid::collector;
using corvid::test::fresh_store;

TEST_SUITE("storage.conformance.users")
{
    TEST_CASE("users: add, find, count, duplicate is already_exists")
    {
        fresh_store store;
        auto& db = store.db;
        CHECK_FALSE(db->find_user("bob").value().has_value());
        REQUIRE(db->add_user({"bob", "h1", role::viewer, 1}).has_value());
        REQUIRE(db->add_user({"carol", "h2", role::operator_, 2}).has_value());
        CHECK(db->count_users().value() == 2);

        auto dup = db->add_user({"bob", "other", role::admin, 3});
        REQUIRE(dup.has_error());
        CHECK(dup.error() == make_error_code(storage_errc::already_exists));

        auto bob = db->find_user("bob").value();
        REQUIRE(bob.has_value());
        CHECK(bob->password_hash == "h1"); // the first one stays
        CHECK(bob->role == role::viewer);
        CHECK(db->find_user("carol").value()->role == role::operator_);
        CHECK_FALSE(db->find_user("BOB").value().has_value()); // names are exact
    }

    // Issue 12.5: no revocation. Users carry disabled and a token generation (schema v4);
    // change_user moves the generation on, audits each change and keeps the last enabled admin.
    TEST_CASE("users: issue12_5 change_user revokes tokens, audits every change, keeps the last admin")
    {
        fresh_store store;
        auto& db = store.db;
        audit_record by;
        by.at_ms = 5;
        by.actor = "root";
        by.address = "10.0.0.1";
        REQUIRE(db->create_user({"root", "h0", role::admin, 1}, by).has_value());
        REQUIRE(db->add_user({"alice", "h1", role::operator_, 2}).has_value());
        auto alice = db->find_user("alice").value().value();
        CHECK_FALSE(alice.disabled);
        CHECK(alice.token_generation == 0);

        const auto change = [&](std::string_view name, user_change c) { return db->change_user(name, c, by).value(); };
        // A password change moves the generation on and keeps the rest.
        auto r = change("alice", {.password_hash = std::string("h2")});
        REQUIRE(r.status == user_change_status::done);
        CHECK(r.user->token_generation == 1);
        CHECK(db->find_user("alice").value()->password_hash == "h2");
        // Disable moves it on; enable does not (tokens from before the disable stay dead).
        CHECK(change("alice", {.disabled = true}).user->token_generation == 2);
        CHECK(db->find_user("alice").value()->disabled);
        CHECK(change("alice", {.disabled = true}).user->token_generation == 2); // no change, nothing written
        CHECK(change("alice", {.disabled = false}).user->token_generation == 2);
        // A role change (either way) and a logout move it on.
        CHECK(change("alice", {.role = role::viewer}).user->token_generation == 3);
        CHECK(change("alice", {.revoke_tokens = true}).user->token_generation == 4);
        CHECK(db->find_user("alice").value()->role == role::viewer);

        // The last enabled admin can be neither deleted, disabled nor demoted.
        CHECK(change("root", {.remove = true}).status == user_change_status::last_admin);
        CHECK(change("root", {.disabled = true}).status == user_change_status::last_admin);
        CHECK(change("root", {.role = role::operator_}).status == user_change_status::last_admin);
        CHECK(db->find_user("root").value()->role == role::admin);
        CHECK(change("alice", {.role = role::admin}).status == user_change_status::done);
        CHECK(change("root", {.disabled = true}).status == user_change_status::done);
        CHECK(change("alice", {.remove = true}).status == user_change_status::last_admin); // root is disabled
        CHECK(change("nobody", {.remove = true}).status == user_change_status::not_found);
        CHECK(change("root", {.remove = true}).status == user_change_status::done);
        CHECK_FALSE(db->find_user("root").value().has_value());

        const auto users = db->list_users().value();
        REQUIRE(users.size() == 1);
        CHECK(users[0].username == "alice");

        std::vector<std::string> actions;
        for (const auto& a : db->list_audit(std::nullopt, 100).value()) {
            CHECK(a.actor == "root");
            CHECK(a.address == "10.0.0.1");
            actions.push_back(a.action + " " + a.detail);
        }
        const std::vector<std::string> expected{
            "user.deleted root",
            "user.disabled root",
            "user.role_changed alice: viewer -> admin",
            "user.logout alice",
            "user.role_changed alice: operator -> viewer",
            "user.enabled alice",
            "user.disabled alice",
            "user.password_changed alice",
            "user.created root (admin)",
        };
        CHECK(actions == expected);
    }
}
