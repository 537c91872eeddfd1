#include "agent/stream_outbox.hpp"

#include <doctest/doctest.h>

using corvid::agent::spooled_record;
using corvid::agent::stream_outbox;

namespace {

spooled_record rec(std::uint64_t seq) { return {seq, static_cast<std::int64_t>(seq) * 1000, "p" + std::to_string(seq)}; }

// Serves a page request the way the spool would, from the records (after, last_seq].
void serve_page(stream_outbox& box, std::uint64_t last_seq)
{
    const auto after = box.page_request();
    REQUIRE(after.has_value());
    std::vector<spooled_record> page;
    for (auto seq = *after + 1; seq <= last_seq && page.size() < stream_outbox::page_records; ++seq)
        page.push_back(rec(seq));
    box.on_page(box.connection(), std::move(page));
}

} // namespace

TEST_SUITE("agent.stream_outbox")
{
    TEST_CASE("live records go out first, then the backlog oldest first, the ack point waits for the backlog")
    {
        stream_outbox box;
        box.restore(10, 15); // 11-15 unsent from before
        box.on_connected();
        box.on_appended(rec(16));
        box.on_appended(rec(17));
        CHECK(box.next_live()->seq == 16);
        CHECK(box.next_live()->seq == 17);
        CHECK_FALSE(box.next_live());
        CHECK_FALSE(box.next_backlog()); // no page yet
        CHECK(box.wants_page());
        serve_page(box, 17); // the spool also returns 16 and 17: they are live, not backlog
        CHECK_FALSE(box.wants_page());
        std::vector<std::uint64_t> sent;
        while (auto r = box.next_backlog())
            sent.push_back(r->seq);
        CHECK(sent == std::vector<std::uint64_t>{11, 12, 13, 14, 15});
        CHECK_FALSE(box.backlog_remaining());

        // The collector acks in arrival order: 16, 17, then 11..15.
        CHECK_FALSE(box.on_ack(16)); // 11-15 are not committed yet
        CHECK_FALSE(box.on_ack(17));
        CHECK(box.on_ack(13) == 13u);
        CHECK(box.on_ack(15) == 17u); // everything committed
        CHECK(box.acked() == 17);
    }

    TEST_CASE("an ack covers everything sent before it, unknown acks are ignored")
    {
        stream_outbox box;
        box.restore(0, 0);
        box.on_connected();
        for (std::uint64_t s = 1; s <= 3; ++s) {
            box.on_appended(rec(s));
            REQUIRE(box.next_live());
        }
        CHECK_FALSE(box.on_ack(99));
        CHECK(box.on_ack(2) == 2u);
        CHECK(box.in_flight() == 1);
        CHECK(box.on_ack(3) == 3u);
    }

    TEST_CASE("a disconnect returns in-flight records to the backlog of the next connection")
    {
        stream_outbox box;
        box.restore(0, 0);
        box.on_connected();
        for (std::uint64_t s = 1; s <= 4; ++s) {
            box.on_appended(rec(s));
            REQUIRE(box.next_live());
        }
        CHECK(box.on_ack(1) == 1u);
        box.on_disconnected();
        CHECK_FALSE(box.on_ack(2)); // an ack of the old connection means nothing now
        box.on_appended(rec(5));    // appended while offline: backlog, not live
        box.on_connected();
        CHECK_FALSE(box.next_live());
        serve_page(box, 5);
        std::vector<std::uint64_t> sent;
        while (auto r = box.next_backlog())
            sent.push_back(r->seq);
        CHECK(sent == std::vector<std::uint64_t>{2, 3, 4, 5});
    }

    TEST_CASE("a page from an earlier connection is ignored")
    {
        stream_outbox box;
        box.restore(0, 3);
        box.on_connected();
        const auto after = box.page_request();
        REQUIRE(after);
        const auto old_connection = box.connection();
        box.on_disconnected();
        box.on_connected();
        box.on_page(old_connection, {rec(1), rec(2), rec(3)});
        CHECK_FALSE(box.next_backlog());
        CHECK(box.wants_page());
    }

    TEST_CASE("live overflow turns the oldest live records into backlog, none is lost")
    {
        stream_outbox box(/*live_capacity=*/2);
        box.restore(0, 0);
        box.on_connected();
        for (std::uint64_t s = 1; s <= 5; ++s)
            box.on_appended(rec(s));
        CHECK(box.next_live()->seq == 4);
        CHECK(box.next_live()->seq == 5);
        serve_page(box, 5);
        std::vector<std::uint64_t> sent;
        while (auto r = box.next_backlog())
            sent.push_back(r->seq);
        CHECK(sent == std::vector<std::uint64_t>{1, 2, 3});
        CHECK_FALSE(box.on_ack(5));
        CHECK(box.on_ack(3) == 5u);
    }

    TEST_CASE("the in-flight window bounds what is sent without acks")
    {
        stream_outbox box(/*live_capacity=*/100, /*max_in_flight=*/3);
        box.restore(0, 0);
        box.on_connected();
        for (std::uint64_t s = 1; s <= 5; ++s)
            box.on_appended(rec(s));
        int sent = 0;
        while (box.next_live())
            ++sent;
        CHECK(sent == 3);
        box.on_ack(2);
        CHECK(box.next_live()->seq == 4);
        CHECK(box.next_live()->seq == 5);
    }

    TEST_CASE("records the spool dropped (a gap) do not hold the ack point back")
    {
        stream_outbox box;
        box.restore(0, 200);
        box.on_connected();
        const auto after = box.page_request();
        REQUIRE(after == 0u);
        box.on_page(box.connection(), {rec(150), rec(151)}); // 1-149 were dropped by the bound; 152-200 too
        CHECK_FALSE(box.wants_page()); // the short page ended the backlog
        REQUIRE(box.next_backlog()->seq == 150);
        REQUIRE(box.next_backlog()->seq == 151);
        CHECK(box.on_ack(151) == 200u);
    }

    TEST_CASE("a long backlog is read page by page")
    {
        stream_outbox box;
        box.restore(0, 200);
        box.on_connected();
        std::uint64_t expected = 1;
        while (box.backlog_remaining()) {
            if (box.wants_page())
                serve_page(box, 200);
            while (auto r = box.next_backlog()) {
                CHECK(r->seq == expected++);
                box.on_ack(r->seq);
            }
        }
        CHECK(expected == 201);
        CHECK(box.acked() == 200);
    }
}
