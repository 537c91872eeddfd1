#include "collector/http/router.hpp"

#include <doctest/doctest.h>
#include <vector>

using namespace corvid::collector;

namespace {
const std::string id = "3f1c2a9e-8d7b-4c6a-9e5f-1a2b3c4d5e6f";
}

TEST_SUITE("collector.router")
{
    TEST_CASE("match_route: every route of the API")
    {
        CHECK(match_route("/api/v1/auth/login").id == route_id::login);
        CHECK(match_route("/api/v1/servers").id == route_id::servers);
        CHECK(match_route("/api/v1/health").id == route_id::health);
        CHECK(match_route("/api/v1/agents/ws").id == route_id::agent_ws);
        auto s = match_route("/api/v1/servers/" + id);
        CHECK(s.id == route_id::server);
        CHECK(s.server_id == id);
        CHECK(match_route("/api/v1/servers/" + id + "/api-key").id == route_id::server_api_key);
        CHECK(match_route("/api/v1/servers/" + id + "/metrics?from=1&to=2").id == route_id::server_metrics);
        CHECK(match_route("/api/v1/ws/metrics/" + id).id == route_id::metrics_ws);
        CHECK(match_route("/api/v1/ws/logs/" + id).id == route_id::logs_ws);
        CHECK(match_route("/ws/metrics/" + id).id == route_id::metrics_ws);
        CHECK(match_route("/ws/logs/" + id).server_id == id);
    }

    TEST_CASE("match_route: ids that are not uuids, unknown and deep paths are not found")
    {
        for (const std::string& bad : std::vector<std::string>{"/", "", "/api", "/api/v1", "/api/v2/servers", "/api/v1/servers/abc",
                                "/api/v1/servers/" + id + "/nope", "/api/v1/ws/metrics/../etc",
                                "/ws/metrics/" + id + "/x", "/api/v1/servers/" + id + "/metrics/a/b/c/d/e/f/g",
                                "/API/V1/SERVERS", "/api/v1/servers/3F1C2A9E-8D7B-4C6A-9E5F-1A2B3C4D5E6F"})
            CHECK_MESSAGE(match_route(bad).id == route_id::not_found, bad);
    }

    TEST_CASE("allowed_methods: one Allow header per route")
    {
        CHECK(allowed_methods(route_id::servers) == "GET, POST");
        CHECK(allowed_methods(route_id::server) == "GET, DELETE");
        CHECK(allowed_methods(route_id::login) == "POST");
        CHECK(allowed_methods(route_id::server_metrics) == "GET");
    }

    TEST_CASE("parse_query: names, values and percent-decoding")
    {
        auto q = parse_query("/x?from=10&to=20&search=a%20b+c&flag");
        REQUIRE(q.has_value());
        CHECK(q->at("from") == "10");
        CHECK(q->at("to") == "20");
        CHECK(q->at("search") == "a b c");
        CHECK(q->at("flag").empty());
        auto none = parse_query("/x");
        REQUIRE(none.has_value());
        CHECK(none->empty());
    }

    TEST_CASE("parse_query: refuses bad escapes, repeated names and too many parameters")
    {
        CHECK_FALSE(parse_query("/x?a=%2").has_value());
        CHECK_FALSE(parse_query("/x?a=%zz").has_value());
        CHECK_FALSE(parse_query("/x?a=1&a=2").has_value());
        CHECK_FALSE(parse_query("/x?=1").has_value());
        std::string many = "/x?";
        for (int i = 0; i < 40; ++i)
            many += "p" + std::to_string(i) + "=1&";
        CHECK_FALSE(parse_query(many).has_value());
    }
}
