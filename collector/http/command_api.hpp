#pragma once
// The REST routes of commands, Docker actions and the audit log (README, "Commands"):
//   POST /api/v1/servers/{id}/commands     operator, admin   → 202 {"command_id"}
//   POST /api/v1/servers/{id}/docker       operator, admin   → 202 {"command_id"}
//   GET  /api/v1/servers/{id}/commands     operator, admin   recent commands (an operator sees their own)
//   GET  /api/v1/commands/{command_id}     its issuer, admin
//   GET  /api/v1/servers/{id}/containers   any role          the latest container list
//   GET  /api/v1/collector                 any role          the command signing public key
//   GET  /api/v1/audit                     admin
// The caller has authenticated the token; these check the role for their route.
// io thread only.
#include <boost/asio/awaitable.hpp>

#include "collector/app.hpp"
#include "collector/http/rest_api.hpp"
#include "collector/operator_auth.hpp"

namespace corvid::collector {

bool is_command_route(route_id id);

net::awaitable<http_response> handle_command_route(app& a, const http_request& req, const route_match& route,
                                                   const std::string& peer_address, const principal& who);

// The JSON of one command as GET /api/v1/commands/{id} returns it.
std::string command_json(const command_record& c, bool with_output);

} // namespace corvid::collector
