#include "collector/live/hub.hpp"

#include <doctest/doctest.h>

using namespace corvid::collector;
using corvid::proto::sample_data;

namespace {
struct recorder final : live_subscriber {
    std::vector<std::int64_t> samples;
    void deliver_sample(const live_sample_ptr& s) override { samples.push_back(s->timestamp_ms()); }
};

live_sample_ptr sample(const std::string& server, std::int64_t ts)
{
    sample_data d;
    d.timestamp_ms = ts;
    d.cpu_percent = 12.5;
    d.memory_percent = 40;
    return std::make_shared<const live_sample>(server, d, corvid::proto::encode_sample_data(d));
}
} // namespace

TEST_SUITE("collector.hub")
{
    TEST_CASE("hub: a subscriber gets only its own server's samples")
    {
        hub h;
        auto a = std::make_shared<recorder>();
        auto b = std::make_shared<recorder>();
        h.join("A", a);
        h.join("B", b);
        h.publish_sample("A", sample("A", 1000));
        h.publish_sample("B", sample("B", 2000));
        CHECK(a->samples == std::vector<std::int64_t>{1000});
        CHECK(b->samples == std::vector<std::int64_t>{2000});
        CHECK(h.subscriber_count() == 2);
    }

    TEST_CASE("hub: latest keeps the newest sample, an older replayed sample is not live")
    {
        hub h;
        auto a = std::make_shared<recorder>();
        h.join("A", a);
        h.publish_sample("A", sample("A", 5000));
        h.publish_sample("A", sample("A", 3000));
        CHECK(h.latest("A")->timestamp_ms() == 5000);
        CHECK(a->samples == std::vector<std::int64_t>{5000});
        CHECK(h.latest("nope") == nullptr);
    }

    TEST_CASE("hub: Reliability: after a reconnect the replayed backlog is stored but not pushed live")
    {
        // The agent sends its live samples first, then replays what was not acknowledged, with the
        // original (older) timestamps. Each is new to the store; none may reach a metrics socket
        // as if it were the current value, and neither may a sample with the same timestamp.
        hub h;
        auto a = std::make_shared<recorder>();
        h.join("A", a);
        h.publish_sample("A", sample("A", 5000));
        h.publish_sample("A", sample("A", 9000)); // live, after the reconnect
        for (std::int64_t replayed : {6000, 7000, 8000, 9000})
            h.publish_sample("A", sample("A", replayed));
        h.publish_sample("A", sample("A", 10000)); // live again
        CHECK(a->samples == std::vector<std::int64_t>{5000, 9000, 10000});
        CHECK(h.latest("A")->timestamp_ms() == 10000);
        // The bar is per server.
        h.publish_sample("B", sample("B", 1000));
        CHECK(h.latest("B")->timestamp_ms() == 1000);
    }

    TEST_CASE("hub: a subscriber that is gone is skipped and no longer counted")
    {
        hub h;
        auto a = std::make_shared<recorder>();
        h.join("A", a);
        {
            auto gone = std::make_shared<recorder>();
            h.join("A", gone);
        }
        CHECK(h.subscriber_count() == 1);
        h.publish_sample("A", sample("A", 1000));
        CHECK(a->samples.size() == 1);
        h.leave("A", a.get());
        CHECK(h.subscriber_count() == 0);
    }

    TEST_CASE("hub: forgetting a deleted server drops its subscribers and its newest sample")
    {
        hub h;
        auto a = std::make_shared<recorder>();
        h.join("A", a);
        h.publish_sample("A", sample("A", 1000));
        h.forget_server("A");
        CHECK(h.latest("A") == nullptr);
        CHECK(h.subscriber_count() == 0);
        h.publish_sample("A", sample("A", 2000)); // a late sample reaches no one
        CHECK(a->samples == std::vector<std::int64_t>{1000});
    }

    TEST_CASE("live_sample: the full message embeds the stored encoding, selections are cached")
    {
        auto s = sample("A", 1767225605000);
        const auto full = s->message(corvid::proto::all_fields);
        CHECK(*full == corvid::proto::encode_frontend_metrics("A", s->data()));
        using corvid::proto::mask_of;
        using corvid::proto::sample_field;
        const auto mask = mask_of(sample_field::cpu_percent);
        const auto one = s->message(mask);
        CHECK(*one == R"({"type":"metrics","server_id":"A","data":{"timestamp":"2026-01-01T00:00:05.000Z","cpu_percent":12.5}})");
        CHECK(s->message(mask).get() == one.get());
        CHECK(s->message(corvid::proto::all_fields).get() == full.get());
    }
}
