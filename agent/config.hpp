#pragma once
// The agent's configuration: TOML file (default /etc/corvid/agent.toml), then the environment
// (CORVID_COLLECTOR_URL, CORVID_API_KEY, CORVID_SERVER_ID), then command-line flags, each
// overriding the one before.
// An invalid value is a config_error naming the key; main() prints it and exits with code 2.
#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/commands/command_policy.hpp"
#include "agent/logs/logs_config.hpp"
#include "agent/metrics/sampler.hpp"

namespace corvid::agent {

// [spool]: the on-disk spools of unsent metrics and logs (agent/SPOOL.md), under <state_dir>/spool.
struct spool_settings {
    std::uint64_t max_bytes = 64ull << 20;  // each stream; max_mb in the file
    std::chrono::hours max_age{24 * 7};     // max_age_hours
    bool sync = true;                       // fdatasync each record: survives a power cut, not only a crash
};

struct agent_config {
    std::string collector_url;   // ws://host:port/api/v1/agents/ws or wss://…
    std::string api_key;         // inline key, or
    std::string api_key_file;    // a file holding the key (read again on every connection attempt)
    int interval_s = 5;          // 1-60
    std::string state_dir = "/var/lib/corvid-agent";
    std::string ca_file;         // PEM bundle for wss; empty = the system CAs
    std::string tls_pin_sha256;  // wss: the collector certificate's SHA-256 (hex, colons optional); "" = no pin
    std::string log_level = "info";
    sampler_options sampler;
    remote_policy remote; // [commands], [docker], collector_public_key: from the file only; server_id (also env)
    logs_config logs;     // [logs]: from the file only
    spool_settings spool; // [spool]
};

// What the command line asked for besides configuration.
struct agent_invocation {
    agent_config config;
    std::string config_path;  // the file that was read ("" if none)
    bool once = false;        // --once: print one sample as JSON and exit
    bool version = false;     // --version
    bool help = false;        // --help
    std::vector<std::string> warnings; // e.g. a config or key file readable by group/others
};

struct config_error {
    std::string key;     // "interval_s", "collectors.cpu", "--interval", …
    std::string message; // one line, for the operator
};

using env_lookup = std::function<std::optional<std::string>(const std::string&)>;

// Parses TOML text into `cfg` (only keys present are changed). `source` names the file in messages.
std::optional<config_error> apply_agent_toml(agent_config& cfg, std::string_view toml_text, std::string_view source);

// argv[0] is skipped. Reads --config (or /etc/corvid/agent.toml when it exists), applies the
// environment through `env`, then the flags; validates the result. collector_url and a key are
// required unless --once, --version or --help; so is server_id when commands are enabled.
// What depends on the process rather than the files (run_as for a privileged agent) is checked
// by check_command_privilege (agent/commands/command_policy.hpp) in main.
boost::system::result<agent_invocation, config_error> load_agent_invocation(int argc, const char* const* argv,
                                                                            const env_lookup& env);

std::string agent_usage();

} // namespace corvid::agent
