#pragma once
// What the agent could hand a command it runs as itself (issue 12.2). Plain data, shared by the
// policy check at start-up (command_policy.hpp) and the shell runner that reads it
// (shell_runner.hpp current_privilege()).

namespace corvid::agent {

// uid 0, or CAP_SETUID in the effective, permitted or ambient set: with either a command could
// make itself (or its children) root.
struct process_privilege {
    bool root = false;
    bool setuid_capability = false;
};

} // namespace corvid::agent
