#pragma once
// Sending an operator's command to an agent, and recording what became of it.
// Order of a dispatch: the operator's rate limit, the server, the agent's session (commands are
// never queued for an offline agent), then the command and its audit line are committed, and only
// then is the signed command sent. The signature (Ed25519 over proto::signing_payload) binds the
// command to this server, this id and a validity window of one minute.
// io thread only.
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <variant>

#include "collector/app.hpp"
#include "collector/operator_auth.hpp"
#include "proto/messages.hpp"

namespace corvid::collector {

// How long an agent accepts a command after it was issued (the agent adds its clock tolerance).
inline constexpr std::int64_t command_validity_ms = 60 * 1000;

struct dispatch_request {
    std::string server_id;
    std::string kind;         // "shell" or "docker"
    std::string command;      // shell: the command line
    std::uint32_t timeout_s = 60;
    std::string action, container_id; // docker
    principal who;
    std::string client_address;
};

enum class dispatch_status { accepted, no_such_server, agent_offline, rate_limited, too_many_in_flight, storage_error };

struct dispatch_result {
    dispatch_status status = dispatch_status::storage_error;
    boost::system::error_code storage_error; // with status storage_error
    std::string command_id;
    std::int64_t retry_after_s = 0; // rate_limited
};

net::awaitable<dispatch_result> dispatch_command(app& a, const dispatch_request& req);

// Stores a finished (or lost) command and appends its audit line; then the tracker forgets it.
// `actor` is the audit's actor: "agent" for a result, "collector" for lost.
void record_outcome(app& a, command_record outcome, std::string actor, std::string detail);

// A result for a command the tracker no longer holds: accepted only if storage says the command
// belongs to `server_id` and was declared lost (the agent reconnected and delivered it late).
using late_result = std::variant<proto::command_response, proto::docker_response>;
void record_late_result(app& a, std::string server_id, late_result result);

} // namespace corvid::collector
