// Conformance: log batches stored exactly once, queried newest first with filters, search and a
// cursor, and trimmed by age and by size, through the storage interface only.
#include "tests/storage/conformance/backend.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "collector/storage/log_search.hpp"
#include "tests/storage/fixtures.hpp"

using namespace corvid::collector;
using namespace corvid::test;

TEST_SUITE("storage.conformance.logs")
{
    TEST_CASE("logs: a batch is stored once per (server, seq), sending it again writes nothing")
    {
        fresh_store store;
        auto& db = store.db;
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
        fresh_store store;
        auto& db = store.db;
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
        fresh_store store;
        auto& db = store.db;
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

    TEST_CASE("logs: search is a case-insensitive substring, queries combine terms")
    {
        fresh_store store;
        auto& db = store.db;
        insert_ok(*db, srv_a, 1,
                  {entry(t0, 1, "upstream timed out (110: Connection timed out)"),
                   entry(t0 + 1, 1, "TIMEOUTS while reading"), entry(t0 + 2, 1, "connection refused by 10.0.0.7"),
                   entry(t0 + 3, 1, "all good"), entry(t0 + 4, 1, "disk full: no space left")});
        CHECK(messages(query(*db, srv_a, searching("timeout"))) == std::vector<std::string>{"TIMEOUTS while reading"});
        CHECK(query(*db, srv_a, searching("Timed Out")).size() == 1);
        CHECK(query(*db, srv_a, searching("0.0.7")).size() == 1);                  // inside a token
        CHECK(query(*db, srv_a, searching("ll")).size() == 2);                     // shorter than a trigram
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
        fresh_store store;
        auto& db = store.db;
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
        fresh_store store;
        auto& db = store.db;
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
        fresh_store store;
        auto& db = store.db;
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
        fresh_store store;
        auto& db = store.db;
        const auto first = insert_ok(*db, srv_a, 1, {entry(t0, 1, "a"), entry(t0 + 1, 1, "b")});
        insert_ok(*db, srv_a, 2, {entry(t0 - 5, 1, "replayed later")});
        log_filter f;
        f.max_id = first.ids.back();
        CHECK(messages(query(*db, srv_a, f)) == std::vector<std::string>{"b", "a"});
    }

    TEST_CASE("logs: retention by age deletes the oldest first, at most max_rows, and search follows")
    {
        fresh_store store;
        auto& db = store.db;
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
    }

    TEST_CASE("logs: retention by size trims the oldest until the estimate fits")
    {
        fresh_store store;
        auto& db = store.db;
        CHECK(db->log_bytes().value() == 0);
        std::mt19937 rng(5);
        insert_log_lines(*db, rng, 10, 100);
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
}
