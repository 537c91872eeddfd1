// The SQLite backend's logs: schema v3 and its migration, the trigram index kept in step with
// the entries, the size estimate against what SQLite measures, and the log query deadline.
// Logs through the interface: conformance/logs_test.cpp.
#include "collector/storage/sqlite_storage.hpp"

#include <doctest/doctest.h>
#include <random>
#include <string>
#include <vector>

#include "tests/storage/fixtures.hpp"
#include "tests/storage/sqlite_support.hpp"
#include "tests/support/temp_dir.hpp"

using namespace corvid::collector;
using namespace corvid::test;

namespace {
// Schema version 2 exactly as released (sqlite_schema.cpp, migrations 1 and 2): the starting
// point of the v3 migration test. A released step is never edited, so neither is this copy.
const char* const schema_v2 = R"sql(
CREATE TABLE users (username TEXT PRIMARY KEY NOT NULL, password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')), created_at INTEGER NOT NULL);
CREATE TABLE servers (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, api_key_hash TEXT NOT NULL UNIQUE,
    enabled INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL, last_seen INTEGER,
    hostname TEXT NOT NULL DEFAULT '', agent_version TEXT NOT NULL DEFAULT '');
CREATE TABLE samples (server_id TEXT NOT NULL, ts INTEGER NOT NULL, cpu_percent REAL, memory_percent REAL,
    load1 REAL, data TEXT NOT NULL, PRIMARY KEY (server_id, ts)) WITHOUT ROWID;
CREATE INDEX samples_by_ts ON samples (ts);
CREATE TABLE commands (id TEXT PRIMARY KEY NOT NULL, server_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('shell', 'docker')), command TEXT NOT NULL, timeout_s INTEGER NOT NULL,
    issued_by TEXT NOT NULL, client_address TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'timed_out', 'denied', 'lost')),
    exit_code INTEGER, duration_ms INTEGER, output TEXT NOT NULL DEFAULT '', truncated INTEGER NOT NULL DEFAULT 0,
    error TEXT, output_sha256 TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, finished_at INTEGER);
CREATE INDEX commands_by_server ON commands (server_id, created_at);
CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
    address TEXT NOT NULL, action TEXT NOT NULL, server_id TEXT NOT NULL, command_id TEXT NOT NULL,
    detail TEXT NOT NULL, status TEXT, exit_code INTEGER, duration_ms INTEGER, output_sha256 TEXT);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
PRAGMA user_version = 2;
)sql";
} // namespace

TEST_SUITE("storage.logs")
{
    TEST_CASE("logs: schema v3 has the log tables and the trigram full-text index")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        open_ok(path);
        raw_sqlite raw(path);
        CHECK(sqlite_schema_version() >= 3); // later versions keep these tables
        CHECK(raw.text("PRAGMA user_version") == std::to_string(sqlite_schema_version()));
        CHECK(raw.text("SELECT count(*) FROM sqlite_schema"
                       " WHERE name IN ('log_entries', 'log_fts', 'log_usage', 'gaps')")
              == "4");
        CHECK(raw.text("SELECT sql FROM sqlite_schema WHERE name = 'log_fts'").find("trigram") != std::string::npos);
    }

    TEST_CASE("logs: retention by age keeps the full-text index in step, and entries are never updated")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        auto db = open_ok(path);
        insert_ok(*db, srv_a, 1, {entry(t0, 1, "old timeout"), entry(t0 + 3000, 1, "new timeout")});
        insert_ok(*db, srv_b, 1, {entry(t0 + 500, 1, "b timeout")});
        CHECK(db->delete_logs_before(t0 + 2000, 100).value() == 2);
        raw_sqlite raw(path);
        CHECK(raw.exec("INSERT INTO log_fts (log_fts) VALUES ('integrity-check')") == SQLITE_OK);
        CHECK(raw.integer("SELECT count(*) FROM log_fts WHERE log_fts MATCH '\"tim\"'") == 1);
        // Entries are never updated (that would bypass the index and the size count).
        CHECK(raw.exec("UPDATE log_entries SET message = 'x'") != SQLITE_OK);
    }

    TEST_CASE("logs: the size estimate is within a factor 1.5 of what SQLite measures")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        auto db = open_ok(path);
        std::mt19937 rng(7);
        insert_log_lines(*db, rng, 20, 500);
        const auto estimate = static_cast<double>(db->log_bytes().value());
        raw_sqlite raw(path);
        const auto measured = static_cast<double>(raw.integer(
            "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'log_%' OR name LIKE 'sqlite_autoindex_log_entries%'"));
        CAPTURE(estimate);
        CAPTURE(measured);
        CHECK(estimate > measured / 1.5);
        CHECK(estimate < measured * 1.5);
    }

    TEST_CASE("logs: deleting a server deletes its entries from the full-text index too")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        auto db = open_ok(path);
        REQUIRE(db->add_server(make_server(srv_a, "web"), "hash-a").has_value());
        insert_ok(*db, srv_a, 1, {entry(t0, 1, "mine timeout")});
        insert_ok(*db, srv_b, 1, {entry(t0, 1, "other timeout")});
        CHECK(db->delete_server(srv_a).value());
        raw_sqlite raw(path);
        CHECK(raw.integer("SELECT count(*) FROM log_fts WHERE log_fts MATCH '\"tim\"'") == 1);
    }

    TEST_CASE("logs: a version 2 database migrates to version 3 and keeps its data")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        {
            raw_sqlite raw(path);
            REQUIRE(raw.exec(schema_v2) == SQLITE_OK);
            REQUIRE(raw.exec("INSERT INTO users VALUES ('alice', 'h', 'admin', 1);"
                             "INSERT INTO servers (id, name, api_key_hash, created_at) VALUES ('s1', 'web', 'k', 2);"
                             "INSERT INTO samples (server_id, ts, data) VALUES ('s1', 1000, '{}');"
                             "INSERT INTO audit_log (at, actor, address, action, server_id, command_id, detail)"
                             " VALUES (3, 'alice', '', 'command.dispatched', 's1', 'c1', 'uptime');")
                    == SQLITE_OK);
        }
        {
            auto db = open_ok(path);
            CHECK(db->find_user("alice").value().has_value());
            CHECK(db->latest_sample("s1").value().has_value());
            CHECK(db->list_audit(std::nullopt, 10).value().size() == 1);
            CHECK(insert_ok(*db, "s1", 1, {entry(t0, 3, "after the migration")}).fresh);
            CHECK(query(*db, "s1", searching("migration")).size() == 1);
        }
        raw_sqlite raw(path);
        CHECK(raw.text("PRAGMA user_version") == std::to_string(sqlite_schema_version()));
        CHECK(raw.text("PRAGMA integrity_check") == "ok");
    }

    // Issue 12.8: a search with no word of 3 characters cannot use the trigram index and scans every
    // entry of the server; one viewer could so occupy the reader threads for as long as it takes.
    TEST_CASE("storage.logs: issue 12.8 a search that must scan stops at the query deadline")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        {
            auto db = open_ok(path);
            std::vector<log_record> batch;
            for (std::uint64_t seq = 1; seq <= 60; ++seq) {
                batch.clear();
                for (int i = 0; i < 1000; ++i)
                    batch.push_back(entry(t0 + static_cast<std::int64_t>(seq) * 1000 + i, 1,
                                          "GET /api/v1/orders/" + std::to_string(seq * 1000 + i) + " 200 12ms"));
                insert_ok(*db, srv_a, seq, batch);
            }
        }
        log_filter two_letters;
        two_letters.search = "zq"; // matches nothing: every one of the 60,000 entries is read
        auto hurried = open_sqlite_storage({.path = path, .log_query_deadline = std::chrono::milliseconds(1)});
        REQUIRE(hurried);
        auto cut = (*hurried)->query_logs(srv_a, two_letters, std::nullopt, 100);
        REQUIRE_FALSE(cut.has_value());
        CHECK(cut.error() == storage_errc::timed_out);
        // With the default deadline the same search completes, and indexed searches are unaffected.
        auto patient = open_ok(path);
        auto page = patient->query_logs(srv_a, two_letters, std::nullopt, 100);
        REQUIRE(page.has_value());
        CHECK(page->entries.empty());
        log_filter indexed;
        indexed.search = "orders/59999";
        CHECK(messages(query(*patient, srv_a, indexed, 10)) == std::vector<std::string>{"GET /api/v1/orders/59999 200 12ms"});
    }
}
