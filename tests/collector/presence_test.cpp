#include "collector/live/presence.hpp"

#include <doctest/doctest.h>
#include <vector>

using namespace corvid::collector;

namespace {
struct watcher final : server_watcher {
    std::vector<std::string> statuses;
    int deleted = 0;
    void deliver_status(const std::shared_ptr<const std::string>& m) override { statuses.push_back(*m); }
    void close_server_deleted() override { ++deleted; }
};
} // namespace

TEST_SUITE("collector.presence")
{
    TEST_CASE("presence: status goes to the server's watchers only")
    {
        presence p;
        auto a = std::make_shared<watcher>();
        auto b = std::make_shared<watcher>();
        p.join("A", a);
        p.join("B", b);
        p.publish_status("A", true, 1767225605000);
        REQUIRE(a->statuses.size() == 1);
        CHECK(a->statuses[0] == R"({"type":"status","data":{"online":true,"last_seen":"2026-01-01T00:00:05.000Z"}})");
        CHECK(b->statuses.empty());
    }

    TEST_CASE("presence: a deleted server's watchers are told so, once, and forgotten")
    {
        presence p;
        auto a = std::make_shared<watcher>();
        auto other = std::make_shared<watcher>();
        p.join("A", a);
        p.join("B", other);
        p.forget_server("A");
        CHECK(a->deleted == 1);
        CHECK(other->deleted == 0);
        CHECK(p.watcher_count() == 1);
        p.forget_server("A");
        p.publish_status("A", false, std::nullopt);
        CHECK(a->deleted == 1);
        CHECK(a->statuses.empty());
    }

    TEST_CASE("presence: counts live watchers, one that is gone or has left is not counted")
    {
        presence p;
        auto a = std::make_shared<watcher>();
        auto b = std::make_shared<watcher>();
        p.join("A", a);
        p.join("A", b);
        {
            auto gone = std::make_shared<watcher>();
            p.join("C", gone);
        }
        CHECK(p.watcher_count() == 2);
        p.leave("A", a.get());
        CHECK(p.watcher_count() == 1);
        p.publish_status("A", false, std::nullopt);
        CHECK(a->statuses.empty());
        CHECK(b->statuses.size() == 1);
    }
}
