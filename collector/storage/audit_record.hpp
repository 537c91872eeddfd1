#pragma once
// One line of the audit log: written by the commands domain (commands_storage.hpp) and by user
// changes (users_storage.hpp), read back through commands_storage::list_audit.
#include <cstdint>
#include <optional>
#include <string>

namespace corvid::collector {

// One line of the append-only audit log. The database refuses UPDATE and DELETE on it.
struct audit_record {
    std::int64_t id = 0; // assigned on insert, increasing
    std::int64_t at_ms = 0;
    std::string actor;   // username, "collector" for what the collector decided itself, "cli:UNIXUSER"
    std::string address; // client address of the request ("" for the collector and the CLI)
    std::string action;  // command.dispatched, command.finished, docker.dispatched, docker.finished, command.lost,
                         // user.* (see change_user)
    std::string server_id, command_id;
    std::string detail;  // the exact command or action at dispatch; the agent's message later
    std::optional<std::string> status;
    std::optional<std::int64_t> exit_code, duration_ms;
    std::optional<std::string> output_sha256;
};

} // namespace corvid::collector
