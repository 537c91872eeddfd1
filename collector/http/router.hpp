#pragma once
// Maps request paths to the collector's routes, and parses query strings. Pure functions over
// untrusted text: nothing here allocates without bound or trusts a length.
#include <boost/system/result.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace corvid::collector {

enum class route_id {
    not_found,
    login,           // POST   /api/v1/auth/login
    logout,          // POST   /api/v1/auth/logout
    users,           // GET, POST /api/v1/users
    user,            // PATCH, DELETE /api/v1/users/{username}
    servers,         // GET, POST /api/v1/servers
    server,          // GET, DELETE /api/v1/servers/{id}
    server_api_key,  // POST   /api/v1/servers/{id}/api-key
    server_metrics,  // GET    /api/v1/servers/{id}/metrics
    server_logs,     // GET    /api/v1/servers/{id}/logs
    server_gaps,     // GET    /api/v1/servers/{id}/gaps
    health,          // GET    /api/v1/health
    agent_ws,        // GET (upgrade) /api/v1/agents/ws
    metrics_ws,      // GET (upgrade) /api/v1/ws/metrics/{id}, /ws/metrics/{id}
    logs_ws,         // GET (upgrade) /api/v1/ws/logs/{id}, /ws/logs/{id}
    server_commands, // GET, POST /api/v1/servers/{id}/commands
    server_docker,   // POST   /api/v1/servers/{id}/docker
    server_containers, // GET  /api/v1/servers/{id}/containers
    command,         // GET    /api/v1/commands/{command_id}
    command_ws,      // GET (upgrade) /api/v1/ws/commands/{command_id}
    collector_info,  // GET    /api/v1/collector
    audit,           // GET    /api/v1/audit
    web_index,       // GET    /  (the web UI's index.html)
    web_asset,       // GET    /assets/{name}
};

struct route_match {
    route_id id = route_id::not_found;
    std::string server_id; // for routes with {id}; a well-formed uuid, else the route is not_found
    std::string asset;     // for web_asset: a plain file name (see is_asset_name), else not_found
    std::string command_id; // for command and command_ws: a well-formed uuid, else not_found
    std::string username;   // for user: a well-formed user name (names.hpp), else not_found
};

// A name under /assets/: letters, digits, '.', '-' and '_', at most 64 bytes, not starting with
// '.', so it can never name a directory, a parent ("..") or a hidden file.
bool is_asset_name(std::string_view name);

// `target` is the request target; a query string, if any, is ignored here.
route_match match_route(std::string_view target);

// The methods a route accepts, as for an Allow header ("GET, POST").
std::string_view allowed_methods(route_id id);

// "a=1&b=x%20y" → {a: "1", b: "x y"}. Errors on bad percent-encoding, more than 32 parameters,
// or a repeated name.
boost::system::result<std::map<std::string, std::string>> parse_query(std::string_view target);

// A whole decimal integer ("-12"), or nothing (empty, trailing text, out of range).
std::optional<std::int64_t> parse_int(std::string_view s);

// Query parameter `name` (from parse_query) as an integer in [lo, hi]: nullopt when absent, an
// error when it is not a whole number in that range (the caller words the 400).
boost::system::result<std::optional<std::int64_t>>
query_int(const std::map<std::string, std::string>& query, const std::string& name, std::int64_t lo, std::int64_t hi);

} // namespace corvid::collector
