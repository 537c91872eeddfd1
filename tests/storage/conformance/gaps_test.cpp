// Conformance: gaps stored once per (server, stream, first seq), widened by a re-report, listed
// newest first and deleted by age, through the storage interface only.
#include "tests/storage/conformance/backend.hpp"

#include <doctest/doctest.h>

#include "tests/storage/fixtures.hpp"

using namespace corvid::collector;
using namespace corvid::test;

TEST_SUITE("storage.conformance.gaps")
{
    TEST_CASE("gaps: stored once per (server, stream, first_seq), a re-report widens it")
    {
        fresh_store store;
        auto& db = store.db;
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
}
