#pragma once
// The collector's REST API (README, "REST API"; collector/http/openapi.json): what every handler
// gets (rest_call), the JSON responses they answer with, and the handlers of login, logout,
// servers, key rotation, metrics history and health. Which route reaches which handler, and the
// role each needs, is the route table's business (routes.hpp): a handler runs only after its
// row's role check passed. Errors are {"error":"…"}.
// io thread only; SQLite runs on the store's threads, password hashing in app::passwords.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>

#include "collector/app.hpp"
#include "collector/http/json_body.hpp"
#include "collector/http/router.hpp"
#include "collector/operator_auth.hpp"

namespace corvid::collector {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;

// One request as a REST handler sees it. Everything outlives the handler's coroutine.
struct rest_call {
    app& a;
    const http_request& req;
    const path_params& path; // the row's {params}, already checked
    const std::string& peer; // the client's address, for logs and the audit trail
    const principal* who;    // the caller, whose role the row allowed; null on public rows
};

// The route handler that builds a `Request` (a handler class holding the call's parts) and runs
// its member `Handle`. The object is a named local of this coroutine: one co_await per statement
// (README, "GCC 12 and coroutines").
template <class Request, net::awaitable<http_response> (Request::*Handle)()>
net::awaitable<http_response> handle_with(rest_call& c)
{
    Request r(c);
    co_return co_await (r.*Handle)();
}

// A JSON response with the headers every API response carries.
http_response json_response(const http_request& req, boost::beast::http::status status, std::string body);
http_response error_response(const http_request& req, boost::beast::http::status status, std::string_view message);
// The one answer to a storage failure (storage_errc at the storage boundary, HTTP here): 503
// {"error":"storage unavailable"}, with Retry-After: 1 when the database was busy. Logged here
// with the request line, so handlers do not log it again.
http_response storage_failure(const http_request& req, const boost::system::error_code& ec);
// 204 No Content, keeping the request's keep-alive.
http_response no_content(const http_request& req);

// For routes about one server: the 404 ("no such server") or 503 ("storage unavailable") to answer
// when server `id` cannot be found, nullopt when it exists. `id` must outlive the call.
net::awaitable<std::optional<http_response>> server_missing(app& a, const http_request& req, const std::string& id);

// The request bodies of this file, as the handlers decode them (and the OpenAPI examples must).
struct login_body {
    std::string username, password;
};
boost::system::result<login_body, body_error> read_login_body(std::string_view body);
// {"name"}: the new server's name, checked by check_server_name.
boost::system::result<std::string, body_error> read_new_server_body(std::string_view body);

net::awaitable<http_response> get_health(rest_call& c);     // GET    /api/v1/health
net::awaitable<http_response> post_login(rest_call& c);     // POST   /api/v1/auth/login
net::awaitable<http_response> post_logout(rest_call& c);    // POST   /api/v1/auth/logout
net::awaitable<http_response> list_servers(rest_call& c);   // GET    /api/v1/servers
net::awaitable<http_response> create_server(rest_call& c);  // POST   /api/v1/servers
net::awaitable<http_response> get_server(rest_call& c);     // GET    /api/v1/servers/{id}
net::awaitable<http_response> delete_server(rest_call& c);  // DELETE /api/v1/servers/{id}
net::awaitable<http_response> rotate_api_key(rest_call& c); // POST   /api/v1/servers/{id}/api-key
net::awaitable<http_response> get_metrics(rest_call& c);    // GET    /api/v1/servers/{id}/metrics

} // namespace corvid::collector
