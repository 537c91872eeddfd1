#include "common/ws_connection.hpp"

#include <doctest/doctest.h>

using corvid::parse_ws_url;

TEST_SUITE("common.ws_url")
{
    TEST_CASE("parse_ws_url: scheme, host, port and target")
    {
        auto u = parse_ws_url("ws://collector.example:8080/api/v1/agents/ws");
        REQUIRE(u.has_value());
        CHECK_FALSE(u->tls);
        CHECK(u->host == "collector.example");
        CHECK(u->port == "8080");
        CHECK(u->target == "/api/v1/agents/ws");

        auto s = parse_ws_url("wss://collector.example/api/v1/agents/ws?x=1");
        REQUIRE(s.has_value());
        CHECK(s->tls);
        CHECK(s->port == "443");
        CHECK(s->target == "/api/v1/agents/ws?x=1");

        auto bare = parse_ws_url("ws://10.0.0.1");
        REQUIRE(bare.has_value());
        CHECK(bare->port == "80");
        CHECK(bare->target == "/");
    }

    TEST_CASE("parse_ws_url: IPv6 literals in brackets")
    {
        auto u = parse_ws_url("ws://[::1]:9000/x");
        REQUIRE(u.has_value());
        CHECK(u->host == "::1");
        CHECK(u->port == "9000");
        auto d = parse_ws_url("wss://[fe80::1]/x");
        REQUIRE(d.has_value());
        CHECK(d->port == "443");
    }

    TEST_CASE("parse_ws_url: refuses other schemes, credentials and bad ports")
    {
        for (const char* bad : {"http://host/x", "host:80", "ws://", "ws:///path", "ws://user:pw@host/x",
                                "ws://host:99999/x", "ws://host:80a/x", "ws://[::1/x", "ws://[::1]x/",
                                "ws://host:1:2/x"})
            CHECK_MESSAGE(!parse_ws_url(bad).has_value(), bad);
    }
}
