#pragma once
// The collector's REST API (README, "REST API"): login, logout, users (user_api.hpp), servers,
// key rotation, metrics history, health. Every route but login and health requires
// `Authorization: Bearer <jwt>`: 401 without a valid token, 403 when the user's role does not
// allow the route. Errors are {"error":"…"}.
// io thread only; SQLite runs on the store's threads, password hashing in app::passwords.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>

#include "collector/app.hpp"
#include "collector/http/router.hpp"

namespace corvid::collector {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;

net::awaitable<http_response> handle_rest(app& a, const http_request& req, const route_match& route,
                                          const std::string& peer_address);

// A JSON response with the headers every API response carries.
http_response json_response(const http_request& req, boost::beast::http::status status, std::string body);
http_response error_response(const http_request& req, boost::beast::http::status status, std::string_view message);

// For routes about one server: the 404 ("no such server") or 503 ("storage unavailable") to answer
// when server `id` cannot be found, nullopt when it exists. `id` must outlive the call.
net::awaitable<std::optional<http_response>> server_missing(app& a, const http_request& req, const std::string& id);

} // namespace corvid::collector
