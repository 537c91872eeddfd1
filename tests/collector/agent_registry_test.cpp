#include "collector/live/agent_registry.hpp"

#include <doctest/doctest.h>
#include <vector>

using namespace corvid::collector;

namespace {
struct fake_link final : agent_link {
    std::vector<std::string> closed;
    std::int64_t seen = 42;
    std::vector<std::string> sent;
    void close_policy(std::string reason) override { closed.push_back(std::move(reason)); }
    std::int64_t last_seen_ms() const override { return seen; }
    bool send_frame(std::string frame) override
    {
        sent.push_back(std::move(frame));
        return true;
    }
};
} // namespace

TEST_SUITE("collector.agent_registry")
{
    TEST_CASE("agent_registry: a second connection for the same server replaces the first")
    {
        agent_registry r;
        auto first = std::make_shared<fake_link>();
        auto second = std::make_shared<fake_link>();
        r.add("S", first);
        CHECK(r.online("S"));
        r.add("S", second);
        REQUIRE(first->closed.size() == 1);
        CHECK(first->closed[0].find("replaced") != std::string::npos);
        // The replaced session ending must not take the new one offline.
        r.remove("S", first.get());
        CHECK(r.online("S"));
        CHECK(r.count() == 1);
        r.remove("S", second.get());
        CHECK_FALSE(r.online("S"));
        CHECK(r.count() == 0);
    }

    TEST_CASE("agent_registry: close and last_seen")
    {
        agent_registry r;
        auto a = std::make_shared<fake_link>();
        auto b = std::make_shared<fake_link>();
        r.add("A", a);
        r.add("B", b);
        CHECK(r.last_seen_ms("A") == 42);
        CHECK_FALSE(r.last_seen_ms("C"));
        r.close("A", "API key rotated");
        CHECK(a->closed == std::vector<std::string>{"API key rotated"});
        CHECK(b->closed.empty());
    }
}
