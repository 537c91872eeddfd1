#include "agent/outbox.hpp"

#include <doctest/doctest.h>

using corvid::agent::outbox;

namespace {
corvid::proto::sample_data at(std::int64_t ts)
{
    corvid::proto::sample_data d;
    d.timestamp_ms = ts;
    return d;
}

std::vector<std::uint64_t> drain_unsent(outbox& box)
{
    std::vector<std::uint64_t> seqs;
    while (const auto* m = box.next_unsent()) {
        seqs.push_back(m->seq);
        box.mark_sent();
    }
    return seqs;
}
} // namespace

TEST_SUITE("agent.outbox")
{
    TEST_CASE("outbox: seq starts at 1 and increases by one per sample")
    {
        outbox box(10);
        CHECK(box.push(at(1000)) == 1);
        CHECK(box.push(at(2000)) == 2);
        CHECK(box.push(at(3000)) == 3);
        CHECK(drain_unsent(box) == std::vector<std::uint64_t>{1, 2, 3});
        CHECK(box.next_unsent() == nullptr);
    }

    TEST_CASE("outbox: an ack removes every sample up to its seq")
    {
        outbox box(10);
        for (int i = 1; i <= 5; ++i)
            box.push(at(i * 1000));
        drain_unsent(box);
        box.acknowledge(3);
        CHECK(box.size() == 2);
        box.rewind();
        CHECK(drain_unsent(box) == std::vector<std::uint64_t>{4, 5});
    }

    TEST_CASE("outbox: after a reconnect unacknowledged samples are sent again in order")
    {
        outbox box(10);
        box.push(at(1000));
        box.push(at(2000));
        drain_unsent(box);
        box.push(at(3000)); // taken while the link was down
        box.rewind();
        CHECK(drain_unsent(box) == std::vector<std::uint64_t>{1, 2, 3});
        CHECK(box.next_unsent() == nullptr);
    }

    TEST_CASE("outbox: when full the oldest sample is dropped and counted")
    {
        outbox box(3);
        for (int i = 1; i <= 5; ++i)
            box.push(at(i * 1000));
        CHECK(box.size() == 3);
        CHECK(box.dropped() == 2);
        CHECK(drain_unsent(box) == std::vector<std::uint64_t>{3, 4, 5});
        CHECK(box.last_seq() == 5);
    }

    TEST_CASE("outbox: dropping a sent sample keeps the send cursor on the first unsent one")
    {
        outbox box(2);
        box.push(at(1000));
        box.push(at(2000));
        box.mark_sent();     // seq 1 sent, not acked
        box.push(at(3000));  // drops seq 1
        CHECK(drain_unsent(box) == std::vector<std::uint64_t>{2, 3});
    }

    TEST_CASE("outbox: an ack for an unknown or old seq changes nothing it should not")
    {
        outbox box(5);
        box.push(at(1000));
        box.push(at(2000));
        box.acknowledge(0);
        CHECK(box.size() == 2);
        box.acknowledge(100); // acks beyond what was sent clear everything sent
        CHECK(box.size() == 0);
        CHECK(box.push(at(3000)) == 3);
    }
}
