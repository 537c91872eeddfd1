#pragma once
// The REST routes of logs and gaps (PROTOCOL.md section 11.5), for any logged-in role:
//   GET /api/v1/servers/{id}/logs?from&to&level&search&source&limit&cursor
//       → {"entries":[{log entry}…],"next":"<cursor>"|null}, newest first
//   GET /api/v1/servers/{id}/gaps?limit
//       → {"gaps":[{"stream","first_seq","last_seq","count","from","to","reason","reported_at"}…]}
// Bad parameters are 400 with a message naming the parameter; an unknown server is 404.
// Both check that the server exists first. The role is the route table's (routes.cpp).
// io thread only; queries run on the store's reader threads.
#include <boost/asio/awaitable.hpp>

#include "collector/app.hpp"
#include "collector/http/rest_api.hpp"

namespace corvid::collector {

net::awaitable<http_response> get_logs(rest_call& c);
net::awaitable<http_response> get_gaps(rest_call& c);

// The `next` cursor of a logs page and back: "<timestamp_ms>:<id>". Opaque to clients.
std::string format_log_cursor(const log_cursor& c);
std::optional<log_cursor> parse_log_cursor(std::string_view text);

} // namespace corvid::collector
