// Conformance: what one connection commits, another connection to the same store sees, also
// after the first has closed.
#include "tests/storage/conformance/backend.hpp"

#include <doctest/doctest.h>
#include <vector>

#include "tests/storage/fixtures.hpp"

using namespace corvid::collector;
using namespace corvid::test;

TEST_SUITE("storage.conformance.connections")
{
    TEST_CASE("storage: reopening keeps the data")
    {
        fresh_store store;
        {
            auto db = std::move(store.db);
            REQUIRE(db->add_user({"alice", "$argon2id$hash", role::admin, 42}).has_value());
            REQUIRE(db->add_server(make_server("s1", "web"), "hash-1").has_value());
            REQUIRE(db->insert_samples(std::vector{make_sample("s1", 1000)}).has_value());
        }
        auto db = store.another_connection();
        auto u = db->find_user("alice").value();
        REQUIRE(u.has_value());
        CHECK(u->password_hash == "$argon2id$hash");
        CHECK(u->role == role::admin);
        CHECK(u->created_at_ms == 42);
        CHECK(db->list_servers().value().size() == 1);
        CHECK(db->latest_sample("s1").value().has_value());
    }

    TEST_CASE("storage: a second connection sees what the first committed")
    {
        fresh_store store;
        auto& writer = store.db;
        auto reader = store.another_connection();
        CHECK_FALSE(reader->latest_sample("s").value().has_value()); // the reader has looked before the write
        REQUIRE(writer->add_server(make_server("s", "s"), "h").has_value());
        REQUIRE(writer->insert_samples(std::vector{make_sample("s", 1), make_sample("s", 2)}).has_value());
        CHECK(reader->latest_sample("s").value()->timestamp_ms == 2);
        CHECK(reader->find_server_by_key_hash("h").value().has_value());
        REQUIRE(writer->delete_server("s").has_value());
        CHECK_FALSE(reader->latest_sample("s").value().has_value());
    }
}
