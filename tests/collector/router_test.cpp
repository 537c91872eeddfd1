#include "collector/http/router.hpp"

#include <doctest/doctest.h>
#include <vector>

#include "collector/http/routes.hpp"

using namespace corvid::collector;

namespace {
const std::string id = "3f1c2a9e-8d7b-4c6a-9e5f-1a2b3c4d5e6f";
using verb = boost::beast::http::verb;

// The route table's answer for `target`, whatever the method: the pattern of the path's rows
// ("" when no row fits: a 404) and the captured parameters. Stands in for the route_id enum
// these tests were first written against.
struct matched {
    std::string_view pattern;
    path_params params;
};
matched match_route(std::string_view target)
{
    auto found = find_route(route_table(), target, std::nullopt);
    if (found.allowed == 0)
        return {};
    for (const auto& r : route_table()) {
        path_params ignored;
        if (match_pattern(r.pattern, split_path(target.substr(0, target.find('?'))), ignored))
            return {r.pattern, std::move(found.params)};
    }
    return {};
}
// The Allow header a wrong method gets on `target`.
std::string allowed_methods(std::string_view target) { return allow_header(lookup_route(target, verb::put).allowed); }
const std::string_view not_found;
}

TEST_SUITE("collector.router")
{
    TEST_CASE("match_route: every route of the API")
    {
        CHECK(match_route("/api/v1/auth/login").pattern == "/api/v1/auth/login");
        CHECK(match_route("/api/v1/servers").pattern == "/api/v1/servers");
        CHECK(match_route("/api/v1/health").pattern == "/api/v1/health");
        CHECK(match_route("/api/v1/agents/ws").pattern == "/api/v1/agents/ws");
        auto s = match_route("/api/v1/servers/" + id);
        CHECK(s.pattern == "/api/v1/servers/{id}");
        CHECK(s.params.server_id == id);
        CHECK(match_route("/api/v1/servers/" + id + "/api-key").pattern == "/api/v1/servers/{id}/api-key");
        CHECK(match_route("/api/v1/servers/" + id + "/metrics?from=1&to=2").pattern == "/api/v1/servers/{id}/metrics");
        CHECK(match_route("/api/v1/ws/metrics/" + id).pattern == "/api/v1/ws/metrics/{id}");
        CHECK(match_route("/api/v1/ws/logs/" + id).pattern == "/api/v1/ws/logs/{id}");
        CHECK(match_route("/ws/metrics/" + id).pattern == "/ws/metrics/{id}");
        CHECK(match_route("/ws/logs/" + id).params.server_id == id);
        CHECK(match_route("/ws/logs/" + id).pattern == "/ws/logs/{id}");
        auto logs = match_route("/api/v1/servers/" + id + "/logs?level=WARN&search=a%20b");
        CHECK(logs.pattern == "/api/v1/servers/{id}/logs");
        CHECK(logs.params.server_id == id);
        CHECK(match_route("/api/v1/servers/" + id + "/gaps").pattern == "/api/v1/servers/{id}/gaps");
        CHECK(allowed_methods("/api/v1/servers/" + id + "/logs") == "GET");
        CHECK(allowed_methods("/api/v1/servers/" + id + "/gaps") == "GET");
        CHECK(match_route("/api/v1/servers/not-a-uuid/logs").pattern == not_found);
    }

    TEST_CASE("match_route: ids that are not uuids, unknown and deep paths are not found")
    {
        for (const std::string& bad : std::vector<std::string>{"", "/api", "/api/v1", "/api/v2/servers", "/api/v1/servers/abc",
                                "/api/v1/servers/" + id + "/nope", "/api/v1/ws/metrics/../etc",
                                "/ws/metrics/" + id + "/x", "/api/v1/servers/" + id + "/metrics/a/b/c/d/e/f/g",
                                "/API/V1/SERVERS", "/api/v1/servers/3F1C2A9E-8D7B-4C6A-9E5F-1A2B3C4D5E6F"})
            CHECK_MESSAGE(match_route(bad).pattern == not_found, bad);
    }

    TEST_CASE("match_route: the web UI's index and assets")
    {
        CHECK(match_route("/").pattern == "/");
        CHECK(match_route("/?lang=en").pattern == "/");
        auto js = match_route("/assets/app.js");
        CHECK(js.pattern == "/assets/{name}");
        CHECK(js.params.asset == "app.js");
        CHECK(match_route("/assets/style.css?v=2").params.asset == "style.css");
        CHECK(match_route("/assets/index.html").pattern == "/assets/{name}");
        CHECK(match_route("/assets/a-b_c.1.svg").params.asset == "a-b_c.1.svg");
    }

    TEST_CASE("match_route: asset names with slashes, dots or escapes are not found")
    {
        for (const std::string& bad : std::vector<std::string>{
                 "/assets", "/assets/", "/assets/..", "/assets/../app.js", "/assets/a/app.js", "/assets/.hidden",
                 "/assets/a..b", "/assets/%2e%2e", "/assets/..%2fetc%2fpasswd", "/assets/app.js%00",
                 "/assets/a b", "/assets/a\\b", "/assets/" + std::string(65, 'a'), "/index.html", "/app.js",
                 "/static/app.js", "//", "/api/v1/assets/app.js"})
            CHECK_MESSAGE(match_route(bad).pattern == not_found, bad);
    }

    TEST_CASE("is_asset_name: plain file names only")
    {
        CHECK(is_asset_name("app.js"));
        CHECK(is_asset_name(std::string(64, 'a')));
        CHECK_FALSE(is_asset_name(""));
        CHECK_FALSE(is_asset_name(std::string(65, 'a')));
        CHECK_FALSE(is_asset_name(".."));
        CHECK_FALSE(is_asset_name("."));
        CHECK_FALSE(is_asset_name("a/b"));
        CHECK_FALSE(is_asset_name("a..b"));
        CHECK_FALSE(is_asset_name(std::string("a\0b", 3)));
    }

    TEST_CASE("allowed_methods: one Allow header per route")
    {
        CHECK(allowed_methods("/api/v1/servers") == "GET, POST");
        CHECK(allowed_methods("/api/v1/servers/" + id) == "GET, DELETE");
        CHECK(allowed_methods("/api/v1/auth/login") == "POST");
        CHECK(allowed_methods("/api/v1/servers/" + id + "/metrics") == "GET");
        CHECK(allowed_methods("/") == "GET");
        CHECK(allowed_methods("/assets/app.js") == "GET");
    }

    // Issue 12.5: users are managed over the API, and a user can end all of its sessions.
    TEST_CASE("match_route: issue12_5 users, one user by name, and logout")
    {
        CHECK(match_route("/api/v1/users").pattern == "/api/v1/users");
        CHECK(match_route("/api/v1/auth/logout").pattern == "/api/v1/auth/logout");
        const auto one = match_route("/api/v1/users/alice.b-1_x?x=1");
        CHECK(one.pattern == "/api/v1/users/{username}");
        CHECK(one.params.username == "alice.b-1_x");
        CHECK(match_route("/api/v1/users/al%20ice").pattern == not_found);
        CHECK(match_route("/api/v1/users/" + std::string(65, 'a')).pattern == not_found);
        CHECK(match_route("/api/v1/users/alice/x").pattern == not_found);
        CHECK(allowed_methods("/api/v1/users") == "GET, POST");
        CHECK(allowed_methods("/api/v1/users/alice") == "PATCH, DELETE");
        CHECK(allowed_methods("/api/v1/auth/logout") == "POST");
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

// The embedded UI is reached through the router, so its lookup and responses are tested here.
#include "collector/http/web_assets.hpp"

TEST_SUITE("collector.web_assets")
{
    TEST_CASE("find_web_asset: the embedded files with their content types")
    {
        auto index = find_web_asset("index.html");
        REQUIRE(index.has_value());
        CHECK(index->content_type == "text/html; charset=utf-8");
        CHECK(index->content.find("/assets/app.js") != std::string_view::npos);
        CHECK(find_web_asset("/app.js")->content_type == "text/javascript; charset=utf-8");
        CHECK(find_web_asset("style.css")->content_type == "text/css; charset=utf-8");
        CHECK_FALSE(find_web_asset("nope.js").has_value());
        CHECK_FALSE(find_web_asset("../index.html").has_value());
        CHECK_FALSE(find_web_asset("").has_value());
    }

    TEST_CASE("web_asset_response: headers of a file, 404 JSON for an unknown one")
    {
        http_request req{boost::beast::http::verb::get, "/assets/app.js", 11};
        auto res = web_asset_response(req, match_route("/assets/app.js").params.asset);
        CHECK(res.result() == boost::beast::http::status::ok);
        CHECK(res[boost::beast::http::field::content_type] == "text/javascript; charset=utf-8");
        CHECK(res[boost::beast::http::field::cache_control] == "no-cache");
        CHECK(res["Content-Security-Policy"].starts_with("default-src 'self'; connect-src 'self';"));
        CHECK(res["X-Content-Type-Options"] == "nosniff");
        CHECK(res["Referrer-Policy"] == "no-referrer");
        CHECK(res.body() == find_web_asset("app.js")->content);

        auto root = web_asset_response(req, "index.html");
        CHECK(root.body() == find_web_asset("index.html")->content);

        auto missing = web_asset_response(req, match_route("/assets/missing.js").params.asset);
        CHECK(missing.result() == boost::beast::http::status::not_found);
        CHECK(missing[boost::beast::http::field::content_type] == "application/json");
        CHECK(missing.body() == R"({"error":"no such file"})");
    }
}
