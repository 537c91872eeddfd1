#pragma once
// [logs] in the agent's config file: which log files and which part of the journal the agent
// ships, and the limits that keep one noisy source from flooding the collector. The design is in
// agent/logs/README.md. Plain data, parsed once at start-up by apply_agent_toml (agent/config.cpp)
// and read-only afterwards; this header has no .cpp so the config library needs no log code.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corvid::agent {

// The bounds apply_agent_toml enforces.
constexpr std::uint32_t min_log_rate_per_s = 1, max_log_rate_per_s = 100000;
constexpr std::size_t min_log_message_bytes = 256, max_log_message_bytes = 65536;
// Each pattern may match many files (log_reader bounds those); these bound the config itself.
constexpr std::size_t max_log_file_patterns = 64;
constexpr std::size_t max_journal_units = 256;

struct log_file_config {
    std::string path; // absolute glob(3) pattern, e.g. /var/log/nginx/*.log
};

struct journal_source_config {
    bool enabled = false;
    std::vector<std::string> units; // _SYSTEMD_UNIT values, any of them; empty = every unit
    int min_priority = 6;           // syslog priority 0 (emerg) .. 7 (debug); less severe entries are skipped
    std::string directory;          // "" = the local system journal; else the journal files in this directory
};

struct logs_config {
    std::uint32_t rate_limit_per_s = 200;  // per source; bursts of twice this are let through
    std::size_t max_message_bytes = 8192;  // longer messages are cut and flagged truncated
    std::vector<log_file_config> files;    // [[logs.files]]
    journal_source_config journal;         // [logs.journal]

    bool any_source() const { return !files.empty() || journal.enabled; }
};

// "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug" (journalctl's names) or a
// digit 0-7, to the syslog priority number.
inline std::optional<int> parse_syslog_priority(std::string_view name)
{
    static constexpr std::string_view names[] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};
    for (int i = 0; i < 8; ++i)
        if (name == names[i] || (name.size() == 1 && name[0] == '0' + i))
            return i;
    return std::nullopt;
}

} // namespace corvid::agent
