#include "collector/http/routes.hpp"

#include <doctest/doctest.h>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using namespace corvid::collector;

namespace {
using verb = boost::beast::http::verb;
const std::string uuid = "3f1c2a9e-8d7b-4c6a-9e5f-1a2b3c4d5e6f";

verb verb_of(http_method m)
{
    return boost::beast::http::string_to_verb(method_name(m));
}

// A path that fits `pattern`, each {param} replaced by a value its rule accepts.
std::string example_path(std::string_view pattern)
{
    std::string out(pattern);
    for (const auto& [param, value] : std::vector<std::pair<std::string, std::string>>{
             {"{id}", uuid}, {"{command_id}", uuid}, {"{username}", "alice"}, {"{name}", "app.js"}}) {
        for (auto at = out.find(param); at != std::string::npos; at = out.find(param))
            out.replace(at, param.size(), value);
    }
    return out;
}
} // namespace

TEST_SUITE("collector.routes")
{
    TEST_CASE("routes: every row is reached by a path made from its pattern, with its method")
    {
        for (const auto& r : route_table()) {
            const auto path = example_path(r.pattern);
            const auto found = lookup_route(path, verb_of(r.method));
            CHECK_MESSAGE(found.row == &r, r.pattern, " ", method_name(r.method));
        }
    }

    TEST_CASE("routes: rows are well formed")
    {
        std::set<std::pair<std::string_view, http_method>> seen;
        for (const auto& r : route_table()) {
            CAPTURE(r.pattern);
            CHECK(seen.insert({r.pattern, r.method}).second); // one row per path and method
            const bool one_handler = (r.rest == nullptr) != (r.socket == nullptr);
            CHECK(one_handler);
            CHECK(r.pattern.starts_with('/'));
            if (r.socket) {
                CHECK(r.method == http_method::get);
                CHECK(r.socket_idle.count() > 0);
            } else {
                CHECK(r.min != route_access::agent_key); // agents speak only on their socket
            }
        }
    }

    // Authorisation as it was before the table, row by row (README "REST API" and the live sockets).
    // New rows need not be added here: openapi_test checks each row's role against the document.
    TEST_CASE("route roles: the minimum access of every route comes from its row")
    {
        using m = http_method;
        using a = route_access;
        const std::string s = "/api/v1/servers/" + uuid;
        const std::vector<std::tuple<m, std::string, a>> expected = {
            {m::get, "/api/v1/health", a::public_},
            {m::get, "/api/v1/openapi.json", a::public_},
            {m::post, "/api/v1/auth/login", a::public_},
            {m::post, "/api/v1/auth/logout", a::viewer},
            {m::get, "/api/v1/users", a::admin},
            {m::post, "/api/v1/users", a::admin},
            {m::patch, "/api/v1/users/alice", a::admin},
            {m::delete_, "/api/v1/users/alice", a::admin},
            {m::get, "/api/v1/servers", a::viewer},
            {m::post, "/api/v1/servers", a::admin},
            {m::get, s, a::viewer},
            {m::delete_, s, a::admin},
            {m::post, s + "/api-key", a::admin},
            {m::get, s + "/metrics", a::viewer},
            {m::get, s + "/logs", a::viewer},
            {m::get, s + "/gaps", a::viewer},
            {m::get, s + "/containers", a::viewer},
            {m::get, s + "/commands", a::operator_},
            {m::post, s + "/commands", a::operator_},
            {m::post, s + "/docker", a::operator_},
            {m::get, "/api/v1/commands/" + uuid, a::operator_},
            {m::get, "/api/v1/collector", a::viewer},
            {m::get, "/api/v1/audit", a::admin},
            {m::get, "/", a::public_},
            {m::get, "/assets/app.js", a::public_},
            {m::get, "/api/v1/agents/ws", a::agent_key},
            {m::get, "/api/v1/ws/metrics/" + uuid, a::viewer},
            {m::get, "/ws/metrics/" + uuid, a::viewer},
            {m::get, "/api/v1/ws/logs/" + uuid, a::viewer},
            {m::get, "/ws/logs/" + uuid, a::viewer},
            {m::get, "/api/v1/ws/commands/" + uuid, a::viewer},
        };
        for (const auto& [method, path, min] : expected) {
            CAPTURE(path);
            const auto found = lookup_route(path, verb_of(method));
            REQUIRE(found.row != nullptr);
            CHECK(found.row->min == min);
        }
        CHECK_FALSE(required_role(route_access::public_).has_value());
        CHECK_FALSE(required_role(route_access::agent_key).has_value());
        CHECK(required_role(route_access::viewer) == role::viewer);
        CHECK(required_role(route_access::operator_) == role::operator_);
        CHECK(required_role(route_access::admin) == role::admin);
        CHECK(access_name(route_access::operator_) == "operator");
    }

    TEST_CASE("allowed methods: a wrong method finds no row and the path's Allow")
    {
        auto put = lookup_route("/api/v1/servers", verb::put);
        CHECK(put.row == nullptr);
        CHECK(allow_header(put.allowed) == "GET, POST");
        auto head = lookup_route("/api/v1/health", verb::head);
        CHECK(head.row == nullptr);
        CHECK(allow_header(head.allowed) == "GET");
        auto ws = lookup_route("/api/v1/ws/commands/" + uuid + "?x=1", verb::post);
        CHECK(ws.row == nullptr);
        CHECK(allow_header(ws.allowed) == "GET");
        CHECK_FALSE(static_cast<bool>(lookup_route("/api/v1/agents/ws", verb::get).row->rest)); // a socket row
        auto none = lookup_route("/api/v1/nope", verb::get);
        CHECK(none.row == nullptr);
        CHECK(none.allowed == 0);
    }

    TEST_CASE("match_route patterns: parameters follow their rules, unknown ones fit nothing")
    {
        path_params p;
        CHECK(match_pattern("/a/{id}", split_path("/a/" + uuid), p));
        CHECK(p.server_id == uuid);
        CHECK_FALSE(match_pattern("/a/{id}", split_path("/a/x"), p));
        CHECK_FALSE(match_pattern("/a/{nope}", split_path("/a/x"), p));
        CHECK_FALSE(match_pattern("/a", split_path("/a/b"), p));
        CHECK_FALSE(match_pattern("/a/b", split_path("/a"), p));
        CHECK(match_pattern("/", split_path("/"), p));
        CHECK_FALSE(match_pattern("/", split_path("//"), p));
        CHECK_FALSE(match_pattern("/", split_path(""), p));
        CHECK(match_pattern("/a/b", split_path("a//b/"), p)); // empty segments are skipped, as always
        CHECK(split_path("/1/2/3/4/5/6/7/8/9").too_deep);
        CHECK(allow_header(bit(http_method::delete_) | bit(http_method::patch)) == "PATCH, DELETE");
        CHECK(method_from_name("PUT") == std::nullopt);
    }
}
