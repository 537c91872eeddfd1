#pragma once
// What this host allows operators to run, read from the agent's own config file only: never from
// the environment, the command line or the wire, so a compromised collector cannot widen it.
// Deny by default: commands and Docker actions are off until the file turns them on, and then a
// shell command runs only if one `allow` pattern matches the whole command line.
// The policy is built once at start-up and then read-only; safe to share between threads.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <vector>

#include "agent/commands/privilege.hpp"
#include "common/toml_reader.hpp"

namespace corvid::agent {

// A POSIX extended regular expression anchored at both ends: matches the whole text or nothing,
// and never a text holding a control character (see unsafe_command_text), whatever the pattern.
// glibc's matcher runs in bounded stack on long input, unlike std::regex's recursive one.
class whole_match_pattern {
public:
    // nullopt and the compiler's message in `problem` when `pattern` is not a valid ERE.
    static std::optional<whole_match_pattern> compile(const std::string& pattern, std::string& problem);
    bool matches(const std::string& text) const;
    const std::string& source() const { return source_; }

private:
    struct compiled;
    std::string source_;
    std::shared_ptr<const compiled> regex_;
};

struct command_policy {
    bool enabled = false;
    std::vector<whole_match_pattern> allow; // empty: nothing runs even when enabled
    // The user commands run as (when the agent is root or holds CAP_SETUID and CAP_SETGID); "" = the
    // agent's own user, allowed only when the agent could not switch users anyway (issue 12.2:
    // check_command_privilege). "root" must be written out to run commands as root.
    std::string run_as;
    std::uint32_t max_timeout_s = 300;      // a longer timeout_s from the collector is cut to this
    std::size_t output_cap_bytes = 256 * 1024;
    std::size_t max_concurrent = 2;

    // The first pattern matching `command`, or nullptr.
    const whole_match_pattern* allowing(const std::string& command) const;
};

struct docker_policy {
    bool enabled = false;
    std::string socket = "/var/run/docker.sock";
    std::vector<std::string> actions = {"start", "stop", "restart"}; // kill, pause and remove are opt-in
    bool allows(std::string_view action) const;
};

struct remote_policy {
    command_policy commands;
    docker_policy docker;
    std::string collector_public_key; // raw 32-byte Ed25519 key; required when either is enabled
    // This host's server id (the "id" `corvid-collector server add` printed), lower-case uuid:
    // commands must be addressed to it. Required when commands are enabled (issue 12.3): the id
    // the collector reports at auth_success is never trusted for commands. The file's
    // `server_id` or CORVID_SERVER_ID; it can only narrow what runs, never widen it.
    std::string server_id;
};

// A uuid as the collector writes them (8-4-4-4-12 hex digits, any case): the problem, or nullopt.
std::optional<std::string> check_server_id(std::string_view v);

// Issue 12.2: commands run as root only when the config says run_as = "root". An agent with
// commands enabled and no run_as that is root or holds CAP_SETUID refuses to start: the problem,
// one line naming run_as, or nullopt.
std::optional<std::string> check_command_privilege(const command_policy& p, const process_privilege& self);

// [commands] and [docker] tables and the top-level collector_public_key (base64).
std::optional<toml_error> apply_commands_table(const toml_reader& r, const toml::table& t, command_policy& out);
std::optional<toml_error> apply_docker_table(const toml_reader& r, const toml::table& t, docker_policy& out);
std::optional<toml_error> apply_collector_public_key(const toml_reader& r, const toml::node& n, std::string& out);

// A command line that must never reach a shell whatever the patterns say: any control character
// (0x00-0x1f and 0x7f), newline, carriage return, tab and NUL included. A newline would end the
// allowed command and start another (issue 12.1); NUL would make sh run only the part before it.
// Returns the problem (one line, naming the byte and its offset, never quoting the text).
std::optional<std::string> unsafe_command_text(std::string_view command);

} // namespace corvid::agent
