#pragma once
// The REST routes of logs and gaps (PROTOCOL.md section 11.5), for any logged-in role:
//   GET /api/v1/servers/{id}/logs?from&to&level&search&source&limit&cursor
//       → {"entries":[{log entry}…],"next":"<cursor>"|null}, newest first
//   GET /api/v1/servers/{id}/gaps?limit
//       → {"gaps":[{"stream","first_seq","last_seq","count","from","to","reason","reported_at"}…]}
// Bad parameters are 400 with a message naming the parameter; an unknown server is 404.
// The caller has authenticated the token.
// io thread only; queries run on the store's reader threads.
#include <boost/asio/awaitable.hpp>

#include "collector/app.hpp"
#include "collector/http/rest_api.hpp"
#include "collector/operator_auth.hpp"

namespace corvid::collector {

bool is_log_route(route_id id);

net::awaitable<http_response> handle_log_route(app& a, const http_request& req, const route_match& route,
                                               const principal& who);

// The `next` cursor of a logs page and back: "<timestamp_ms>:<id>". Opaque to clients.
std::string format_log_cursor(const log_cursor& c);
std::optional<log_cursor> parse_log_cursor(std::string_view text);

} // namespace corvid::collector
