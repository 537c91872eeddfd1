// The SQLite backend itself: its file, schema versions and migrations, options and locking.
// What every backend must do is tested by the conformance suite (conformance/).
#include "collector/storage/sqlite_storage.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <string>
#include <vector>

#include "tests/storage/fixtures.hpp"
#include "tests/storage/sqlite_support.hpp"
#include "tests/support/temp_dir.hpp"

using namespace corvid::collector;
using namespace corvid::test;

TEST_SUITE("storage.sqlite")
{
    TEST_CASE("sqlite_storage: a new file gets the schema, WAL mode and the current user_version")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        {
            auto db = open_ok(path);
            CHECK(db->count_users().value() == 0);
        }
        raw_sqlite raw(path);
        CHECK(raw.text("PRAGMA user_version") == std::to_string(sqlite_schema_version()));
        CHECK(sqlite_schema_version() >= 1);
        CHECK(raw.text("PRAGMA journal_mode") == "wal");
        CHECK(raw.text("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('users', 'servers', 'samples')")
              == "3");
    }

    TEST_CASE("sqlite_storage: a user_version newer than this build is schema_too_new")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        {
            raw_sqlite raw(path);
            REQUIRE(raw.exec("PRAGMA user_version = 999") == SQLITE_OK);
        }
        auto r = open_sqlite_storage({.path = path});
        REQUIRE(r.has_error());
        CHECK(r.error() == make_error_code(storage_errc::schema_too_new));
    }

    TEST_CASE("sqlite_storage: with migrate off, an old schema is refused and left alone")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        auto r = open_sqlite_storage({.path = path, .migrate = false});
        REQUIRE(r.has_error());
        raw_sqlite raw(path);
        CHECK(raw.text("PRAGMA user_version") == "0");
    }

    TEST_CASE("sqlite_storage: a file that is not a database is corrupt")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        {
            std::ofstream f(path, std::ios::binary);
            for (int i = 0; i < 200; ++i)
                f << "this is certainly not an SQLite database, just some text\n";
        }
        auto r = open_sqlite_storage({.path = path});
        REQUIRE(r.has_error());
        CHECK(r.error() == make_error_code(storage_errc::corrupt));
    }

    TEST_CASE("sqlite_storage: a path in a missing directory is io_error")
    {
        temp_dir dir;
        auto r = open_sqlite_storage({.path = dir.file("no/such/dir/corvid.db")});
        REQUIRE(r.has_error());
        CHECK(r.error() == make_error_code(storage_errc::io_error));
    }

    TEST_CASE("sqlite_storage: options full_sync and busy_timeout are accepted")
    {
        temp_dir dir;
        auto r = open_sqlite_storage(
            {.path = dir.file("corvid.db"), .full_sync = true, .busy_timeout = std::chrono::milliseconds(100)});
        REQUIRE(r.has_value());
        CHECK((*r)->count_users().value() == 0);
    }

    TEST_CASE("sqlite_storage: migrating to v4 keeps users, enabled, at token generation 0")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        {
            auto db = open_ok(path);
            REQUIRE(db->add_user({"bob", "h1", role::admin, 1}).has_value());
        }
        {
            raw_sqlite raw(path);
            REQUIRE(raw.exec("CREATE TABLE users_v3 AS SELECT username, password_hash, role, created_at FROM users;"
                             "DROP TABLE users; ALTER TABLE users_v3 RENAME TO users; PRAGMA user_version = 3;")
                    == SQLITE_OK);
        }
        auto db = open_ok(path);
        auto bob = db->find_user("bob").value();
        REQUIRE(bob.has_value());
        CHECK_FALSE(bob->disabled);
        CHECK(bob->token_generation == 0);
        CHECK(raw_sqlite(path).text("PRAGMA user_version") == std::to_string(sqlite_schema_version()));
    }

    TEST_CASE("sqlite_storage: a write while another connection holds the write lock is busy")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        auto db = open_sqlite_storage({.path = path, .busy_timeout = std::chrono::milliseconds(0)});
        REQUIRE(db.has_value());
        raw_sqlite other(path);
        REQUIRE(other.exec("BEGIN IMMEDIATE") == SQLITE_OK);
        auto r = (*db)->insert_samples(std::vector{make_sample("s", 1)});
        REQUIRE(r.has_error());
        CHECK(r.error() == make_error_code(storage_errc::busy));
        CHECK((*db)->latest_sample("s").has_value()); // reads still work under WAL
        REQUIRE(other.exec("ROLLBACK") == SQLITE_OK);
        CHECK((*db)->insert_samples(std::vector{make_sample("s", 1)}).value() == std::vector<bool>{true});
    }
}
