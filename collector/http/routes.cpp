#include "collector/http/routes.hpp"

#include <algorithm>
#include <boost/beast/http/field.hpp>
#include <cctype>
#include <fmt/format.h>

#include "collector/http/command_api.hpp"
#include "collector/http/log_api.hpp"
#include "collector/http/openapi.hpp"
#include "collector/http/user_api.hpp"
#include "collector/http/web_assets.hpp"
#include "collector/operator_auth.hpp"
#include "collector/sessions/agent_session.hpp"
#include "collector/sessions/command_session.hpp"
#include "collector/sessions/frontend_session.hpp"
#include "collector/sessions/log_session.hpp"
#include "common/log.hpp"

namespace corvid::collector {
namespace http = boost::beast::http;
using std::chrono::seconds;

namespace {
// The WebSocket endpoints: each starts its session and runs it to its end.
net::awaitable<void> run_agent(app& a, std::unique_ptr<ws_connection>&& conn, const path_params&)
{
    auto session = std::make_shared<agent_session>(a, std::move(conn));
    co_await session->run();
}

net::awaitable<void> run_metrics(app& a, std::unique_ptr<ws_connection>&& conn, const path_params& p)
{
    auto session = std::make_shared<frontend_session>(a, std::move(conn), p.server_id);
    co_await session->run();
}

net::awaitable<void> run_logs(app& a, std::unique_ptr<ws_connection>&& conn, const path_params& p)
{
    auto session = std::make_shared<log_session>(a, std::move(conn), p.server_id);
    co_await session->run();
}

net::awaitable<void> run_command(app& a, std::unique_ptr<ws_connection>&& conn, const path_params& p)
{
    auto session = std::make_shared<command_session>(a, std::move(conn), p.command_id);
    co_await session->run();
}

constexpr route rest(std::string_view pattern, http_method m, route_access min, rest_handler h)
{
    return route{.pattern = pattern, .method = m, .min = min, .rest = h};
}

// Sockets are opened with GET. Agents answer WebSocket pings while they read, so 30 s of silence
// means the link is dead; frontends get 60 s.
constexpr route websocket(std::string_view pattern, route_access min, socket_handler h, seconds idle)
{
    return route{.pattern = pattern, .method = http_method::get, .min = min, .socket = h, .socket_idle = idle};
}

using enum http_method;
using enum route_access;

// The table. A row per path and method; aliases are rows of their own.
const route table[] = {
    rest("/api/v1/health", get, public_, get_health),
    rest("/api/v1/openapi.json", get, public_, get_openapi),
    rest("/api/v1/auth/login", post, public_, post_login),
    rest("/api/v1/auth/logout", post, viewer, post_logout), // anyone may end their own sessions
    rest("/api/v1/users", get, admin, list_users),
    rest("/api/v1/users", post, admin, create_user),
    rest("/api/v1/users/{username}", patch, admin, patch_user),
    rest("/api/v1/users/{username}", delete_, admin, delete_user),
    rest("/api/v1/servers", get, viewer, list_servers),
    rest("/api/v1/servers", post, admin, create_server),
    rest("/api/v1/servers/{id}", get, viewer, get_server),
    rest("/api/v1/servers/{id}", delete_, admin, delete_server),
    rest("/api/v1/servers/{id}/api-key", post, admin, rotate_api_key),
    rest("/api/v1/servers/{id}/metrics", get, viewer, get_metrics),
    rest("/api/v1/servers/{id}/logs", get, viewer, get_logs),
    rest("/api/v1/servers/{id}/gaps", get, viewer, get_gaps),
    rest("/api/v1/servers/{id}/containers", get, viewer, get_containers),
    rest("/api/v1/servers/{id}/commands", get, operator_, list_commands), // operators see their own
    rest("/api/v1/servers/{id}/commands", post, operator_, post_command),
    rest("/api/v1/servers/{id}/docker", post, operator_, post_docker),
    rest("/api/v1/commands/{command_id}", get, operator_, get_command), // and only its issuer or an admin
    rest("/api/v1/collector", get, viewer, get_collector_info),
    rest("/api/v1/audit", get, admin, get_audit),
    rest("/", get, public_, get_web_index), // the web UI: no data in it, the API it calls has the checks
    rest("/assets/{name}", get, public_, get_web_asset),
    websocket("/api/v1/agents/ws", agent_key, run_agent, seconds(30)),
    websocket("/api/v1/ws/metrics/{id}", viewer, run_metrics, seconds(60)),
    websocket("/ws/metrics/{id}", viewer, run_metrics, seconds(60)), // the short forms of earlier versions
    websocket("/api/v1/ws/logs/{id}", viewer, run_logs, seconds(60)),
    websocket("/ws/logs/{id}", viewer, run_logs, seconds(60)),
    websocket("/api/v1/ws/commands/{command_id}", viewer, run_command, seconds(60)), // its issuer or an admin
};

// Authenticates the bearer token and checks its role; on failure `refusal` holds the response.
net::awaitable<std::optional<principal>> authorize(app& a, const http_request& req, role needed,
                                                   const std::string& peer, std::optional<http_response>& refusal)
{
    const auto header = req[http::field::authorization];
    constexpr std::string_view scheme = "bearer ";
    if (header.size() <= scheme.size()
        || !std::equal(scheme.begin(), scheme.end(), header.begin(),
                       [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
        refusal = error_response(req, http::status::unauthorized, "missing bearer token");
        co_return std::nullopt;
    }
    auto outcome = co_await authenticate_token(a, header.substr(scheme.size()));
    if (!outcome.who) {
        log::info("request {} {} from {} refused: {}", std::string(req.method_string()), std::string(req.target()),
                  peer, outcome.why);
        refusal = error_response(req, http::status::unauthorized, "invalid or expired token");
        co_return std::nullopt;
    }
    if (outcome.who->role < needed) {
        refusal = error_response(req, http::status::forbidden, fmt::format("this needs the {} role", role_name(needed)));
        co_return std::nullopt;
    }
    co_return outcome.who;
}
} // namespace

std::string_view access_name(route_access a)
{
    switch (a) {
    case route_access::public_: return "public";
    case route_access::agent_key: return "agent_key";
    case route_access::viewer: return "viewer";
    case route_access::operator_: return "operator";
    case route_access::admin: return "admin";
    }
    return "";
}

std::optional<role> required_role(route_access a)
{
    switch (a) {
    case route_access::viewer: return role::viewer;
    case route_access::operator_: return role::operator_;
    case route_access::admin: return role::admin;
    case route_access::public_:
    case route_access::agent_key: return std::nullopt;
    }
    return role::admin;
}

std::span<const route> route_table() { return table; }

route_found lookup_route(std::string_view target, http::verb method)
{
    return find_route(route_table(), target, method_from_name(http::to_string(method)));
}

net::awaitable<http_response> serve_rest(app& a, const http_request& req, const route_found& found,
                                         const std::string& peer)
{
    const route& row = *found.row;
    std::optional<principal> who;
    // An agent_key REST row would be a mistake in the table (a test refuses one): fail closed.
    const std::optional<role> needed = row.min == route_access::agent_key ? std::optional(role::admin) : required_role(row.min);
    if (needed) {
        std::optional<http_response> refusal;
        const role r = *needed;
        who = co_await authorize(a, req, r, peer, refusal);
        if (!who)
            co_return std::move(*refusal);
    }
    rest_call call{a, req, found.params, peer, who ? &*who : nullptr};
    const rest_handler handler = row.rest;
    auto res = co_await handler(call);
    co_return res;
}

} // namespace corvid::collector
