#pragma once
// The collector's one route table: every HTTP route and WebSocket endpoint is one row of
// routes.cpp, {pattern, method, minimum access, handler}. Everything else about routing is derived
// from the rows here and nowhere else: path matching (router.hpp), 404, 405 with its Allow header,
// "this route needs a WebSocket upgrade", and the bearer-token role check (401/403) before a REST
// handler runs. collector/README.md says how to add a route; collector/http/openapi.json describes
// every row for users, and tests/collector/openapi_test.cpp keeps the two in step.
// io thread only.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "collector/app.hpp"
#include "collector/http/rest_api.hpp"
#include "collector/http/router.hpp"

namespace corvid {
class ws_connection;
}

namespace corvid::collector {

// Who may use a route. Roles are ordered (storage.hpp): a row's role is the least one that passes.
// A socket row's access is enforced by its session (the agent's key, or the frontend's token, in
// the first frame, since browsers cannot set headers on a WebSocket handshake).
enum class route_access { public_, agent_key, viewer, operator_, admin };
std::string_view access_name(route_access a); // "public", "agent_key", "viewer", "operator", "admin"
// The role a bearer token must carry; nullopt for public and agent_key rows (no token asked).
std::optional<role> required_role(route_access a);

// A REST handler: runs after its row's access check; the caller writes the response.
using rest_handler = net::awaitable<http_response> (*)(rest_call&);
// A WebSocket endpoint: takes the accepted connection and runs its session to its end. Both
// references stay valid until the coroutine ends.
using socket_handler = net::awaitable<void> (*)(app&, std::unique_ptr<ws_connection>&&, const path_params&);

struct route {
    std::string_view pattern; // "/api/v1/servers/{id}/logs"; the {params} are router.hpp's
    http_method method;       // one method per row: a path's rows make its Allow header
    route_access min;
    rest_handler rest = nullptr;     // exactly one of rest and socket
    socket_handler socket = nullptr;
    std::chrono::seconds socket_idle{0}; // sockets: this long without a frame or a pong means dead
};

std::span<const route> route_table();

using route_found = route_lookup<route>;
route_found lookup_route(std::string_view target, boost::beast::http::verb method);

// Runs `found.row`'s REST handler once the bearer token carries the row's role: else 401
// ("missing bearer token", "invalid or expired token") or 403 ("this needs the <role> role").
// `found` must hold a REST row and outlive the call.
net::awaitable<http_response> serve_rest(app& a, const http_request& req, const route_found& found,
                                         const std::string& peer);

} // namespace corvid::collector
