// REST handlers called directly with a request, on the collector's parts over a real SQLite file:
// no listener, no socket (the seam of issue 13: a handler is a function of a rest_call).
#include "collector/http/rest_api.hpp"

#include <boost/beast/http/field.hpp>
#include <doctest/doctest.h>

#include "collector/live/presence.hpp"
#include "tests/collector/collector_parts.hpp"

namespace corvid::collector {
namespace {
using test::collector_parts;
namespace http = boost::beast::http;

struct watcher final : server_watcher {
    int deleted = 0;
    void deliver_status(const std::shared_ptr<const std::string>&) override {}
    void close_server_deleted() override { ++deleted; }
};

// Runs `handler` for `req` as alice (admin) and returns its response.
http_response call(collector_parts& c, net::awaitable<http_response> (*handler)(rest_call&), http_request req,
                   path_params path = {})
{
    const std::string peer = "192.0.2.7";
    const principal alice{"alice", role::admin, 0, now_unix_ms() / 1000 + 3600};
    std::optional<http_response> out;
    net::co_spawn(
        c.io,
        [&]() -> net::awaitable<http_response> {
            rest_call call{*c.a, req, path, peer, &alice};
            co_return co_await handler(call);
        },
        [&](std::exception_ptr e, http_response r) {
            if (e)
                std::rethrow_exception(e);
            out = std::move(r);
        });
    c.run_until([&] { return out.has_value(); });
    return std::move(*out);
}

http_request request(http::verb method, std::string target, std::string body = {})
{
    http_request req{method, target, 11};
    req.body() = std::move(body);
    req.prepare_payload();
    return req;
}
} // namespace

TEST_SUITE("collector.rest_handlers")
{
    TEST_CASE("rest: deleting a server tells its operator sockets, removes it, and a second delete is 404")
    {
        collector_parts c;
        auto w = std::make_shared<watcher>();
        c.a->presence.join(c.server_id, w);
        path_params path;
        path.server_id = c.server_id;
        auto res = call(c, delete_server, request(http::verb::delete_, "/api/v1/servers/" + c.server_id), path);
        CHECK(res.result() == http::status::no_content);
        CHECK(w->deleted == 1);
        const auto found = c.write([&](storage& s) { return s.find_server(c.server_id); });
        REQUIRE(found.has_value());
        CHECK_FALSE(*found);
        res = call(c, delete_server, request(http::verb::delete_, "/api/v1/servers/" + c.server_id), path);
        CHECK(res.result() == http::status::not_found);
        CHECK(res.body() == R"({"error":"no such server"})");
    }

    TEST_CASE("rest: health counts connected agents and every open operator socket from presence")
    {
        collector_parts c;
        auto a = std::make_shared<watcher>();
        auto b = std::make_shared<watcher>();
        c.a->presence.join(c.server_id, a);
        c.a->presence.join("another", b);
        const auto res = call(c, get_health, request(http::verb::get, "/api/v1/health"));
        CHECK(res.result() == http::status::ok);
        CHECK(res.body() == R"({"status":"healthy","agents_connected":0,"frontends_connected":2})");
    }

    TEST_CASE("rest: creating a server stores it under a new key, a bad name is 400 and stores nothing")
    {
        collector_parts c;
        auto res = call(c, create_server, request(http::verb::post, "/api/v1/servers", R"({"name":"db-02"})"));
        CHECK(res.result() == http::status::created);
        CHECK(res.body().find(R"("name":"db-02")") != std::string::npos);
        res = call(c, create_server, request(http::verb::post, "/api/v1/servers", R"({"name":""})"));
        CHECK(res.result() == http::status::bad_request);
        const auto servers = c.write([](storage& s) { return s.list_servers(); });
        REQUIRE(servers.has_value());
        CHECK(servers->size() == 2);
    }
}

} // namespace corvid::collector
