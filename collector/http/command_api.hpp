#pragma once
// The REST handlers of commands, Docker actions and the audit log (README, "Commands"). The role
// each needs is in its route table row (routes.cpp); the rule that only a command's issuer or an
// admin may read it stays here, in get_command.
//   POST /api/v1/servers/{id}/commands     post_command       → 202 {"command_id"}
//   POST /api/v1/servers/{id}/docker       post_docker        → 202 {"command_id"}
//   GET  /api/v1/servers/{id}/commands     list_commands      recent commands (an operator sees their own)
//   GET  /api/v1/commands/{command_id}     get_command        its issuer or an admin; others get 404
//   GET  /api/v1/servers/{id}/containers   get_containers     the latest container list
//   GET  /api/v1/collector                 get_collector_info the command signing public key
//   GET  /api/v1/audit                     get_audit
// io thread only.
#include <boost/asio/awaitable.hpp>

#include "collector/app.hpp"
#include "collector/http/rest_api.hpp"

namespace corvid::collector {

// The request bodies of this file, as the handlers decode them (and the OpenAPI examples must).
struct shell_command_body {
    std::string command;         // not blank, at most proto::max_command_bytes, no NUL
    std::uint32_t timeout_s = 60; // 1 to proto::max_command_timeout_s
};
boost::system::result<shell_command_body, body_error> read_shell_command_body(std::string_view body);
struct docker_body {
    std::string action;       // proto::is_docker_action
    std::string container_id; // proto::is_container_ref
};
boost::system::result<docker_body, body_error> read_docker_body(std::string_view body);

net::awaitable<http_response> post_command(rest_call& c);
net::awaitable<http_response> post_docker(rest_call& c);
net::awaitable<http_response> list_commands(rest_call& c);
net::awaitable<http_response> get_command(rest_call& c);
net::awaitable<http_response> get_containers(rest_call& c);
net::awaitable<http_response> get_audit(rest_call& c);
net::awaitable<http_response> get_collector_info(rest_call& c);

// The JSON of one command as GET /api/v1/commands/{id} returns it.
std::string command_json(const command_record& c, bool with_output);

} // namespace corvid::collector
