// Log entries and gaps in the SQLite store (schema v3), on real files.
#include "collector/storage/sqlite_storage.hpp"

#include "collector/storage/log_search.hpp"
#include "tests/support/temp_dir.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <random>
#include <set>
#include <sqlite3.h>
#include <string>
#include <vector>

using namespace corvid::collector;
using corvid::test::temp_dir;

namespace {
const std::string srv_a = "0b8f6f2e-6c4b-4a8e-9d2a-3f1e5c7b9a10";
const std::string srv_b = "7d3f1c9a-2b4e-4f6a-9c8d-1e2f3a4b5c6d";
constexpr std::int64_t t0 = 1'767'225'605'000; // 2026-01-01T00:00:05Z

std::unique_ptr<storage> open_ok(const std::string& path)
{
    auto r = open_sqlite_storage({.path = path});
    REQUIRE(r.has_value());
    return std::move(*r);
}

log_record entry(std::int64_t ts, int level, std::string message, std::string source = "/var/log/syslog")
{
    log_record r;
    r.timestamp_ms = ts;
    r.level = level;
    r.source = std::move(source);
    r.message = std::move(message);
    return r;
}

log_insert insert_ok(storage& db, const std::string& server, std::uint64_t seq, const std::vector<log_record>& entries)
{
    auto r = db.insert_log_batch(server, seq, entries);
    REQUIRE(r.has_value());
    return *r;
}

std::vector<log_record> query(storage& db, const std::string& server, const log_filter& f = {},
                              std::size_t limit = 1000, std::optional<log_cursor> after = std::nullopt)
{
    auto page = db.query_logs(server, f, after, limit);
    REQUIRE(page.has_value());
    return page->entries;
}

std::vector<std::string> messages(const std::vector<log_record>& rows)
{
    std::vector<std::string> out;
    for (const auto& r : rows)
        out.push_back(r.message);
    return out;
}

log_filter searching(std::string text)
{
    log_filter f;
    f.search = std::move(text);
    return f;
}

// Direct SQL for what the interface does not offer (schema checks, dbstat, fixtures).
class raw_db {
public:
    explicit raw_db(const std::string& path)
    {
        if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK)
            throw std::runtime_error("open failed");
    }
    ~raw_db() { sqlite3_close(db_); }
    std::string text(const char* sql)
    {
        sqlite3_stmt* s = nullptr;
        REQUIRE_MESSAGE(sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) == SQLITE_OK, sqlite3_errmsg(db_));
        std::string out;
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
            out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
        return out;
    }
    std::int64_t integer(const char* sql) { return std::stoll(text(sql)); }
    int exec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }

private:
    sqlite3* db_ = nullptr;
};

// Schema version 2 exactly as released (sqlite_storage.cpp, migrations 1 and 2): the starting
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

// Syslog-like lines: a daemon, a pid, a few words from a small vocabulary.
std::string log_line(std::mt19937& rng)
{
    static const char* daemons[] = {"sshd", "nginx", "kernel", "systemd", "cron", "postgres"};
    static const char* words[] = {"connection", "refused", "timeout", "accepted", "publickey", "for", "user",
                                  "session", "opened", "closed", "error", "disk", "full", "retrying", "upstream",
                                  "request", "GET", "/api/v1/health", "200", "503", "10.0.0.7", "port", "ssh2"};
    std::string s = daemons[rng() % std::size(daemons)];
    s += "[" + std::to_string(100 + rng() % 90000) + "]:";
    for (unsigned n = 6 + rng() % 20; n > 0; --n) {
        s += ' ';
        s += words[rng() % std::size(words)];
    }
    return s;
}
} // namespace

TEST_SUITE("storage.logs")
{
    TEST_CASE("logs: schema v3 has the log tables and the trigram full-text index")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        open_ok(path);
        raw_db raw(path);
        CHECK(sqlite_schema_version() >= 3); // later versions keep these tables
        CHECK(raw.text("PRAGMA user_version") == std::to_string(sqlite_schema_version()));
        CHECK(raw.text("SELECT count(*) FROM sqlite_schema"
                       " WHERE name IN ('log_entries', 'log_fts', 'log_usage', 'gaps')")
              == "4");
        CHECK(raw.text("SELECT sql FROM sqlite_schema WHERE name = 'log_fts'").find("trigram") != std::string::npos);
    }

    TEST_CASE("logs: a batch is stored once per (server, seq); sending it again writes nothing")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        const std::vector<log_record> batch = {entry(t0, 1, "first"), entry(t0 + 1, 4, "second")};
        const auto first = insert_ok(*db, srv_a, 7, batch);
        CHECK(first.fresh);
        REQUIRE(first.ids.size() == 2);
        CHECK(first.ids[0] < first.ids[1]);
        const auto again = insert_ok(*db, srv_a, 7, batch);
        CHECK_FALSE(again.fresh);
        CHECK(again.ids.empty());
        CHECK(query(*db, srv_a).size() == 2);
        // The same seq from another server, or the next seq, is a different batch.
        CHECK(insert_ok(*db, srv_b, 7, batch).fresh);
        const auto next = insert_ok(*db, srv_a, 8, {entry(t0 + 2, 1, "third")});
        CHECK(next.fresh);
        CHECK(next.ids[0] > first.ids[1]);
        CHECK(query(*db, srv_a).size() == 3);
        // Seqs are unsigned 64-bit on the wire: the largest one round-trips and is deduplicated.
        CHECK(insert_ok(*db, srv_a, 18446744073709551615u, {entry(t0, 1, "max")}).fresh);
        CHECK_FALSE(insert_ok(*db, srv_a, 18446744073709551615u, {entry(t0, 1, "max")}).fresh);
        const auto rows = query(*db, srv_a);
        CHECK(std::count(rows.begin(), rows.end(), rows.front()) == 1);
    }

    TEST_CASE("logs: entries come back whole, newest first, ties by insertion")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        auto e = entry(t0, 5, std::string("tab\there \"quoted\" \xc3\xa9"), "journal:sshd.service");
        e.truncated = true;
        insert_ok(*db, srv_a, 1, {entry(t0 - 1000, 1, "older"), e, entry(t0, 2, "same time, later")});
        const auto rows = query(*db, srv_a);
        REQUIRE(rows.size() == 3);
        CHECK(messages(rows) == std::vector<std::string>{"same time, later", e.message, "older"});
        CHECK(rows[1].level == 5);
        CHECK(rows[1].source == "journal:sshd.service");
        CHECK(rows[1].truncated);
        CHECK_FALSE(rows[0].truncated);
        CHECK(query(*db, srv_b).empty());
    }

    TEST_CASE("logs: filters by time, minimum level and exact source")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        insert_ok(*db, srv_a, 1,
                  {entry(t0, 0, "debug"), entry(t0 + 1000, 1, "info"), entry(t0 + 2000, 3, "warn", "/var/log/a.log"),
                   entry(t0 + 3000, 4, "error", "/var/log/a.log"), entry(t0 + 4000, 5, "crit", "/var/log/b.log")});
        log_filter f;
        f.min_level = 3;
        CHECK(messages(query(*db, srv_a, f)) == std::vector<std::string>{"crit", "error", "warn"});
        f.source = "/var/log/a.log";
        CHECK(messages(query(*db, srv_a, f)) == std::vector<std::string>{"error", "warn"});
        f = {};
        f.from_ms = t0 + 1000;
        f.to_ms = t0 + 3000;
        CHECK(messages(query(*db, srv_a, f)) == std::vector<std::string>{"error", "warn", "info"});
        f = {};
        f.source = "/var/log/a"; // exact, not a prefix
        CHECK(query(*db, srv_a, f).empty());
    }

    TEST_CASE("logs: search is a case-insensitive substring; queries combine terms")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        insert_ok(*db, srv_a, 1,
                  {entry(t0, 1, "upstream timed out (110: Connection timed out)"),
                   entry(t0 + 1, 1, "TIMEOUTS while reading"), entry(t0 + 2, 1, "connection refused by 10.0.0.7"),
                   entry(t0 + 3, 1, "all good"), entry(t0 + 4, 1, "disk full: no space left")});
        CHECK(messages(query(*db, srv_a, searching("timeout"))) == std::vector<std::string>{"TIMEOUTS while reading"});
        CHECK(query(*db, srv_a, searching("Timed Out")).size() == 1);
        CHECK(query(*db, srv_a, searching("0.0.7")).size() == 1);                  // inside a token
        CHECK(query(*db, srv_a, searching("ll")).size() == 2);                     // too short for the index
        CHECK(query(*db, srv_a, searching("connection refused")).size() == 1);     // a literal, spaces included
        CHECK(query(*db, srv_a, searching("refused connection")).empty());
        CHECK(query(*db, srv_a, searching("refused AND connection")).size() == 1); // a query: both terms
        CHECK(query(*db, srv_a, searching("timeout OR disk")).size() == 2);
        CHECK(query(*db, srv_a, searching("connection NOT refused")).size() == 1);
        CHECK(query(*db, srv_a, searching("\"timed out\" (110 OR 111)")).size() == 1);
        CHECK(query(*db, srv_a, searching("\"no space\"")).size() == 1);
        CHECK(query(*db, srv_a, searching("nothing like it")).empty());
    }

    TEST_CASE("logs: a malformed query is searched for literally, never an error")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        insert_ok(*db, srv_a, 1,
                  {entry(t0, 1, "say \"hello"), entry(t0 + 1, 1, "f(x OR"), entry(t0 + 2, 1, "AND then"),
                   entry(t0 + 3, 1, "hello")});
        CHECK(messages(query(*db, srv_a, searching("\"hello"))) == std::vector<std::string>{"say \"hello"});
        CHECK(messages(query(*db, srv_a, searching("(x OR"))) == std::vector<std::string>{"f(x OR"});
        CHECK(messages(query(*db, srv_a, searching("AND then"))) == std::vector<std::string>{"AND then"});
        CHECK(messages(query(*db, srv_a, searching("x*"))) == std::vector<std::string>{"f(x OR"});
        CHECK(messages(query(*db, srv_a, searching("AND"))) == std::vector<std::string>{"AND then"});
        CHECK(query(*db, srv_a, searching("NOT")).empty());
    }

    TEST_CASE("logs: stored search and live search agree on every entry (the index only narrows)")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        std::mt19937 rng(11);
        std::vector<log_record> all;
        for (int b = 0; b < 4; ++b) {
            std::vector<log_record> batch;
            for (int i = 0; i < 250; ++i)
                batch.push_back(entry(t0 + b * 1000 + i, static_cast<int>(rng() % 6), log_line(rng)));
            insert_ok(*db, srv_a, static_cast<std::uint64_t>(b + 1), batch);
            all.insert(all.end(), batch.begin(), batch.end());
        }
        for (const char* text :
             {"timeout", "TIMEOUT", "conn", "on re", "refused connection", "10.0.0.7", "/api/v1/health 200", "ss",
              "sshd[", "x", "error AND disk", "error OR 503", "(error OR 503) NOT nginx", "\"user session\"",
              "kernel NOT (full OR disk)", "timeout*", "\"\"\"", "ssh2 AND ss", "NOT NOT", "((((a))))"}) {
            CAPTURE(text);
            const auto search = log_search::parse(text);
            std::multiset<std::string> expected;
            for (const auto& e : all)
                if (search.matches(e.message))
                    expected.insert(e.message);
            const auto got = messages(query(*db, srv_a, searching(text)));
            CHECK(std::multiset<std::string>(got.begin(), got.end()) == expected);
        }
    }

    TEST_CASE("logs: cursor paging visits every entry once, and new entries do not shift it")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        std::vector<log_record> batch;
        for (int i = 0; i < 250; ++i) // pairs of equal timestamps: the id breaks ties
            batch.push_back(entry(t0 + i / 2, 1, "line " + std::to_string(i)));
        insert_ok(*db, srv_a, 1, batch);
        std::vector<std::int64_t> seen;
        std::optional<log_cursor> cursor;
        int pages = 0;
        do {
            auto page = db->query_logs(srv_a, {}, cursor, 100);
            REQUIRE(page.has_value());
            for (const auto& r : page->entries)
                seen.push_back(r.id);
            cursor = page->next;
            ++pages;
            if (pages == 1) // newer entries arriving between pages do not appear in later ones
                insert_ok(*db, srv_a, 2, {entry(t0 + 10'000, 1, "later")});
        } while (cursor && pages < 10);
        CHECK(pages == 3);
        CHECK(seen.size() == 250);
        CHECK(std::set<std::int64_t>(seen.begin(), seen.end()).size() == 250);
        CHECK(std::is_sorted(seen.rbegin(), seen.rend()));
        // A page that ends exactly at the last entry says there is no next one.
        auto exact = db->query_logs(srv_a, {}, std::nullopt, 251);
        REQUIRE(exact.has_value());
        CHECK_FALSE(exact->next.has_value());
    }

    TEST_CASE("logs: max_id cuts off entries committed later (a logs socket's history)")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        const auto first = insert_ok(*db, srv_a, 1, {entry(t0, 1, "a"), entry(t0 + 1, 1, "b")});
        insert_ok(*db, srv_a, 2, {entry(t0 - 5, 1, "replayed later")});
        log_filter f;
        f.max_id = first.ids.back();
        CHECK(messages(query(*db, srv_a, f)) == std::vector<std::string>{"b", "a"});
    }

    TEST_CASE("logs: retention by age deletes the oldest first and keeps the full-text index in step")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        auto db = open_ok(path);
        insert_ok(*db, srv_a, 1,
                  {entry(t0 + 3000, 1, "new timeout"), entry(t0, 1, "old timeout"),
                   entry(t0 + 1000, 1, "older timeout")});
        insert_ok(*db, srv_b, 1, {entry(t0 + 500, 1, "b timeout")});
        const auto before = db->log_bytes().value();
        CHECK(db->delete_logs_before(t0 + 2000, 2).value() == 2); // at most max_rows, oldest first
        CHECK(messages(query(*db, srv_a)) == std::vector<std::string>{"new timeout", "older timeout"});
        CHECK(query(*db, srv_b).empty());
        CHECK(db->delete_logs_before(t0 + 2000, 100).value() == 1);
        CHECK(db->delete_logs_before(t0 + 2000, 100).value() == 0);
        CHECK(messages(query(*db, srv_a, searching("timeout"))) == std::vector<std::string>{"new timeout"});
        CHECK(db->log_bytes().value() < before);
        raw_db raw(path);
        CHECK(raw.exec("INSERT INTO log_fts (log_fts) VALUES ('integrity-check')") == SQLITE_OK);
        CHECK(raw.integer("SELECT count(*) FROM log_fts WHERE log_fts MATCH '\"tim\"'") == 1);
        // Entries are never updated (that would bypass the index and the size count).
        CHECK(raw.exec("UPDATE log_entries SET message = 'x'") != SQLITE_OK);
    }

    TEST_CASE("logs: retention by size trims the oldest until the estimate fits")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        CHECK(db->log_bytes().value() == 0);
        std::mt19937 rng(5);
        for (int b = 0; b < 10; ++b) {
            std::vector<log_record> batch;
            for (int i = 0; i < 100; ++i)
                batch.push_back(entry(t0 + b * 100 + i, 1, log_line(rng)));
            insert_ok(*db, srv_a, static_cast<std::uint64_t>(b + 1), batch);
        }
        const auto full = db->log_bytes().value();
        CHECK(full > 1000 * 200);
        CHECK(db->trim_logs_to(full, 5000).value() == 0); // within the budget: nothing to do
        const auto budget = full / 2;
        std::size_t deleted = 0;
        for (int round = 0; round < 100; ++round) { // slices of at most 50, as the retention loop does
            const auto n = db->trim_logs_to(budget, 50).value();
            CHECK(n <= 50);
            if (n == 0)
                break;
            deleted += n;
        }
        const auto left = db->log_bytes().value();
        CHECK(left <= budget);
        CHECK(left > budget - budget / 50); // no more than needed (one entry's worth)
        const auto rows = query(*db, srv_a);
        CHECK(rows.size() == 1000 - deleted);
        // The survivors are the newest.
        CHECK(std::all_of(rows.begin(), rows.end(), [&](const log_record& r) { return r.timestamp_ms >= t0 + 400; }));
        CHECK(rows.front().timestamp_ms == t0 + 999);
    }

    TEST_CASE("logs: the size estimate is within a factor 1.5 of what SQLite measures")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        auto db = open_ok(path);
        std::mt19937 rng(7);
        for (int b = 0; b < 20; ++b) {
            std::vector<log_record> batch;
            for (int i = 0; i < 500; ++i)
                batch.push_back(entry(t0 + b * 500 + i, 1, log_line(rng)));
            insert_ok(*db, srv_a, static_cast<std::uint64_t>(b + 1), batch);
        }
        const auto estimate = static_cast<double>(db->log_bytes().value());
        raw_db raw(path);
        const auto measured = static_cast<double>(raw.integer(
            "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'log_%' OR name LIKE 'sqlite_autoindex_log_entries%'"));
        CAPTURE(estimate);
        CAPTURE(measured);
        CHECK(estimate > measured / 1.5);
        CHECK(estimate < measured * 1.5);
    }

    TEST_CASE("gaps: stored once per (server, stream, first_seq); a re-report widens it")
    {
        temp_dir dir;
        auto db = open_ok(dir.file("corvid.db"));
        gap_record g{srv_a, "logs", 10, 20, 11, t0, t0 + 1000, "spool_full", t0 + 5000};
        REQUIRE(db->insert_gap(g).has_value());
        auto later = g;
        later.last_seq = 30;
        later.count = 21;
        later.from_ms.reset(); // a report after an agent restart carries no times
        later.to_ms.reset();
        later.reported_at_ms = t0 + 9000;
        REQUIRE(db->insert_gap(later).has_value());
        auto smaller = g;
        smaller.last_seq = 15;
        smaller.count = 6;
        REQUIRE(db->insert_gap(smaller).has_value());
        const gap_record metrics_gap{srv_a, "metrics", 10, 10, 1, std::nullopt, std::nullopt, "spool_age", t0 + 6000};
        REQUIRE(db->insert_gap(metrics_gap).has_value());
        const gap_record other{srv_b, "logs", 1, 1, 1, std::nullopt, std::nullopt, "unknown", t0};
        REQUIRE(db->insert_gap(other).has_value());
        const auto gaps = db->list_gaps(srv_a, 10).value();
        REQUIRE(gaps.size() == 2);
        CHECK(gaps[0].stream == "metrics"); // reported last
        CHECK(gaps[1] == gap_record{srv_a, "logs", 10, 30, 21, t0, t0 + 1000, "spool_full", t0 + 5000});
        CHECK(db->list_gaps(srv_a, 1).value().size() == 1);
        CHECK(db->delete_gaps_before(t0 + 5500, 100).value() == 2); // srv_a's logs gap and srv_b's
        CHECK(db->list_gaps(srv_a, 10).value().size() == 1);
        CHECK(db->list_gaps(srv_b, 10).value().empty());
    }

    TEST_CASE("logs: deleting a server deletes its log entries and gaps, and only those")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        auto db = open_ok(path);
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
        raw_db raw(path);
        CHECK(raw.integer("SELECT count(*) FROM log_fts WHERE log_fts MATCH '\"tim\"'") == 1);
    }

    TEST_CASE("logs: a version 2 database migrates to version 3 and keeps its data")
    {
        temp_dir dir;
        const auto path = dir.file("corvid.db");
        {
            raw_db raw(path);
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
        raw_db raw(path);
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
