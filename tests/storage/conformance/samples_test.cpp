// Conformance: samples stored once per (server, timestamp), read by range, cut by count and by
// bytes, deleted by age, through the storage interface only.
#include "tests/storage/conformance/backend.hpp"

#include <doctest/doctest.h>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "tests/storage/fixtures.hpp"

using namespace corvid::collector;
using namespace corvid::test;

TEST_SUITE("storage.conformance.samples")
{
    TEST_CASE("samples: insert_samples reports duplicates and keeps the first")
    {
        fresh_store store;
        auto& db = store.db;
        auto first = make_sample("s", 100, R"({"v":1})");
        first.load1 = 0.5;
        REQUIRE(db->insert_samples(std::vector{first}).value() == std::vector<bool>{true});

        auto again = make_sample("s", 100, R"({"v":2})");
        auto result = db->insert_samples(std::vector{make_sample("s", 99), again, make_sample("t", 100),
                                                     make_sample("s", 101), make_sample("s", 101)})
                          .value();
        CHECK(result == std::vector<bool>{true, false, true, true, false});

        auto rows = db->samples_between("s", 100, 100, 10).value();
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].data_json == R"({"v":1})");
        CHECK(rows[0].cpu_percent == 12.5);
        CHECK(rows[0].memory_percent == 40.0);
        CHECK(rows[0].load1 == 0.5);
        CHECK(db->insert_samples({}).value().empty());
    }

    TEST_CASE("samples: insert_samples keeps absent optional columns absent")
    {
        fresh_store store;
        auto& db = store.db;
        sample_row r;
        r.server_id = "s";
        r.timestamp_ms = 5;
        r.data_json = "{}";
        REQUIRE(db->insert_samples(std::span(&r, 1)).has_value());
        auto got = db->latest_sample("s").value();
        REQUIRE(got.has_value());
        CHECK_FALSE(got->cpu_percent.has_value());
        CHECK_FALSE(got->memory_percent.has_value());
        CHECK_FALSE(got->load1.has_value());
        CHECK(got->timestamp_ms == 5);
        CHECK(got->server_id == "s");
    }

    TEST_CASE("samples: samples_between orders oldest first, includes both bounds, honours the limit")
    {
        fresh_store store;
        auto& db = store.db;
        std::vector<sample_row> rows;
        for (std::int64_t ts : {50, 10, 40, 20, 30})
            rows.push_back(make_sample("s", ts, "{\"ts\":" + std::to_string(ts) + "}"));
        rows.push_back(make_sample("other", 25));
        REQUIRE(db->insert_samples(rows).has_value());

        auto all = db->samples_between("s", 10, 50, 100).value();
        REQUIRE(all.size() == 5);
        for (std::size_t i = 0; i < all.size(); ++i) {
            CHECK(all[i].timestamp_ms == static_cast<std::int64_t>(10 * (i + 1)));
            CHECK(all[i].server_id == "s");
        }
        CHECK(all[2].data_json == R"({"ts":30})");

        auto inner = db->samples_between("s", 11, 40, 100).value();
        REQUIRE(inner.size() == 3);
        CHECK(inner.front().timestamp_ms == 20);
        CHECK(inner.back().timestamp_ms == 40);

        auto limited = db->samples_between("s", 0, 1000, 2).value();
        REQUIRE(limited.size() == 2);
        CHECK(limited[0].timestamp_ms == 10);
        CHECK(limited[1].timestamp_ms == 20);

        CHECK(db->samples_between("s", 0, 1000, 0).value().empty());
        CHECK(db->samples_between("s", 40, 20, 10).value().empty());
        CHECK(db->samples_between("nobody", 0, 1000, 10).value().empty());
        CHECK(db->samples_between("s", 0, 1000, std::numeric_limits<std::size_t>::max()).value().size() == 5);
    }

    // Issue 12.8: the byte budget keeps one request from holding gigabytes on a reader thread.
    TEST_CASE("samples: samples_between stops once the rows' data_json adds up to max_bytes (issue 12.8)")
    {
        fresh_store store;
        auto& db = store.db;
        std::vector<sample_row> rows;
        for (std::int64_t ts = 1; ts <= 5; ++ts)
            rows.push_back(make_sample("s", ts, std::string(100, 'x'))); // 100 bytes each
        REQUIRE(db->insert_samples(rows).has_value());

        CHECK(db->samples_between("s", 0, 10, 100, 250).value().size() == 3); // the row that reaches it is in
        CHECK(db->samples_between("s", 0, 10, 100, 200).value().size() == 2); // reached exactly: no more rows
        CHECK(db->samples_between("s", 0, 10, 100, 1).value().size() == 1);   // the first row always comes
        CHECK(db->samples_between("s", 0, 10, 100, 500).value().size() == 5);
        CHECK(db->samples_between("s", 0, 10, 100, 501).value().size() == 5);
        const auto cut = db->samples_between("s", 0, 10, 2, 1000).value(); // the limit still applies
        REQUIRE(cut.size() == 2);
        CHECK(cut.back().timestamp_ms == 2);
    }

    TEST_CASE("samples: latest_sample is the newest of that server")
    {
        fresh_store store;
        auto& db = store.db;
        CHECK_FALSE(db->latest_sample("s").value().has_value());
        REQUIRE(db->insert_samples(std::vector{make_sample("s", 30), make_sample("s", 70), make_sample("s", 50),
                                               make_sample("t", 99)})
                    .has_value());
        CHECK(db->latest_sample("s").value()->timestamp_ms == 70);
        CHECK(db->latest_sample("t").value()->timestamp_ms == 99);
    }

    TEST_CASE("samples: delete_samples_before deletes the oldest first, at most max_rows")
    {
        fresh_store store;
        auto& db = store.db;
        std::vector<sample_row> rows;
        for (std::int64_t ts = 1; ts <= 10; ++ts) {
            rows.push_back(make_sample("a", ts * 10));
            rows.push_back(make_sample("b", ts * 10 + 5));
        }
        REQUIRE(db->insert_samples(rows).has_value());

        // Older than 60: a 10..50 and b 15..55, ten rows. The three oldest go first.
        CHECK(db->delete_samples_before(60, 3).value() == 3);
        CHECK(db->samples_between("a", 0, 1000, 100).value().front().timestamp_ms == 30);
        CHECK(db->samples_between("b", 0, 1000, 100).value().front().timestamp_ms == 25);

        CHECK(db->delete_samples_before(60, 0).value() == 0);
        CHECK(db->delete_samples_before(60, 1000).value() == 7);
        CHECK(db->delete_samples_before(60, 1000).value() == 0);
        CHECK(db->samples_between("a", 0, 1000, 100).value().front().timestamp_ms == 60); // the cutoff stays
        CHECK(db->samples_between("b", 0, 1000, 100).value().front().timestamp_ms == 65);
        CHECK(db->samples_between("a", 0, 1000, 100).value().size() == 5);
    }
}
