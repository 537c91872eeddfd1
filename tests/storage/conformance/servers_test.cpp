// Conformance: servers, their API key hashes and what delete_server takes with it, through the
// storage interface only.
#include "tests/storage/conformance/backend.hpp"

#include <doctest/doctest.h>
#include <string_view>
#include <vector>

#include "tests/storage/fixtures.hpp"

using namespace corvid::collector;
using namespace corvid::test;

TEST_SUITE("storage.conformance.servers")
{
    TEST_CASE("servers: add, list, find, duplicates")
    {
        fresh_store store;
        auto& db = store.db;
        auto a = make_server("id-a", "zeta");
        a.last_seen_ms = 55;
        a.hostname = "zeta.example";
        a.agent_version = "0.1.0";
        REQUIRE(db->add_server(a, "hash-a").has_value());
        REQUIRE(db->add_server(make_server("id-b", "alpha", false), "hash-b").has_value());

        auto list = db->list_servers().value();
        REQUIRE(list.size() == 2);
        CHECK(list[0].name == "alpha"); // ordered by name
        CHECK_FALSE(list[0].enabled);
        CHECK_FALSE(list[0].last_seen_ms.has_value());
        CHECK(list[1].id == "id-a");
        CHECK(list[1].last_seen_ms == 55);
        CHECK(list[1].hostname == "zeta.example");
        CHECK(list[1].agent_version == "0.1.0");
        CHECK(list[1].created_at_ms == 1700000000000);

        CHECK(db->find_server("id-a").value()->name == "zeta");
        CHECK_FALSE(db->find_server("nope").value().has_value());

        auto same_id = db->add_server(make_server("id-a", "other"), "hash-c");
        REQUIRE(same_id.has_error());
        CHECK(same_id.error() == make_error_code(storage_errc::already_exists));
        auto same_key = db->add_server(make_server("id-c", "other"), "hash-a");
        REQUIRE(same_key.has_error());
        CHECK(same_key.error() == make_error_code(storage_errc::already_exists));
        CHECK(db->list_servers().value().size() == 2);
    }

    TEST_CASE("servers: find by key hash finds enabled servers only")
    {
        fresh_store store;
        auto& db = store.db;
        REQUIRE(db->add_server(make_server("on", "on"), "hash-on").has_value());
        REQUIRE(db->add_server(make_server("off", "off", false), "hash-off").has_value());
        auto found = db->find_server_by_key_hash("hash-on").value();
        REQUIRE(found.has_value());
        CHECK(found->id == "on");
        CHECK_FALSE(db->find_server_by_key_hash("hash-off").value().has_value());
        CHECK_FALSE(db->find_server_by_key_hash("hash-none").value().has_value());
        CHECK_FALSE(db->find_server_by_key_hash("").value().has_value());
    }

    TEST_CASE("servers: replace_api_key_hash swaps the key")
    {
        fresh_store store;
        auto& db = store.db;
        REQUIRE(db->add_server(make_server("s", "s"), "old").has_value());
        REQUIRE(db->add_server(make_server("t", "t"), "taken").has_value());
        CHECK(db->replace_api_key_hash("s", "new").value());
        CHECK_FALSE(db->find_server_by_key_hash("old").value().has_value());
        CHECK(db->find_server_by_key_hash("new").value()->id == "s");
        CHECK_FALSE(db->replace_api_key_hash("missing", "x").value());
        auto clash = db->replace_api_key_hash("s", "taken");
        REQUIRE(clash.has_error());
        CHECK(clash.error() == make_error_code(storage_errc::already_exists));
    }

    TEST_CASE("servers: record_agent_seen updates last seen, hostname and version")
    {
        fresh_store store;
        auto& db = store.db;
        REQUIRE(db->add_server(make_server("s", "s"), "h").has_value());
        REQUIRE(db->record_agent_seen("s", 12345, "host-1", "1.2.3").has_value());
        auto s = db->find_server("s").value();
        REQUIRE(s.has_value());
        CHECK(s->last_seen_ms == 12345);
        CHECK(s->hostname == "host-1");
        CHECK(s->agent_version == "1.2.3");
        CHECK(db->record_agent_seen("missing", 1, "x", "y").has_value()); // nothing to update is not an error
        // An empty view with a null data pointer is "", not NULL (which NOT NULL would refuse).
        REQUIRE(db->record_agent_seen("s", 2, std::string_view{}, std::string_view{}).has_value());
        CHECK(db->find_server("s").value()->hostname.empty());
    }

    TEST_CASE("servers: delete_server removes the server and its samples only")
    {
        fresh_store store;
        auto& db = store.db;
        REQUIRE(db->add_server(make_server("a", "a"), "ha").has_value());
        REQUIRE(db->add_server(make_server("b", "b"), "hb").has_value());
        REQUIRE(db->insert_samples(std::vector{make_sample("a", 1), make_sample("a", 2), make_sample("b", 1)})
                    .has_value());
        CHECK(db->delete_server("a").value());
        CHECK_FALSE(db->find_server("a").value().has_value());
        CHECK(db->samples_between("a", 0, 100, 100).value().empty());
        CHECK_FALSE(db->latest_sample("a").value().has_value());
        CHECK(db->samples_between("b", 0, 100, 100).value().size() == 1);
        CHECK_FALSE(db->delete_server("a").value());
        // The key hash is free again.
        CHECK(db->add_server(make_server("c", "c"), "ha").has_value());
    }

    TEST_CASE("servers: deleting a server deletes its log entries and gaps, and only those")
    {
        fresh_store store;
        auto& db = store.db;
        server_record s;
        s.id = srv_a;
        s.name = "web";
        s.created_at_ms = t0;
        REQUIRE(db->add_server(s, "hash-a").has_value());
        insert_ok(*db, srv_a, 1, {entry(t0, 1, "mine timeout")});
        insert_ok(*db, srv_b, 1, {entry(t0, 1, "other timeout")});
        REQUIRE(db->insert_gap(gap_record{srv_a, "logs", 1, 1, 1, std::nullopt, std::nullopt, "x", t0}).has_value());
        CHECK(db->delete_server(srv_a).value());
        CHECK(query(*db, srv_a).empty());
        CHECK(db->list_gaps(srv_a, 10).value().empty());
        CHECK(query(*db, srv_b, searching("timeout")).size() == 1);
    }
}
