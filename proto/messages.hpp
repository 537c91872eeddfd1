#pragma once
// The typed messages of Corvid wire protocol v1. proto/PROTOCOL.md is normative; these structs
// mirror it one to one. Times are Unix milliseconds here and ISO 8601 UTC with ms on the wire.
// A metric section that is absent (std::nullopt, or an empty vector) means the agent did not
// collect it: the collector disabled, or failed this interval.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace corvid::proto {

// ---- metrics sample ------------------------------------------------------------------------

struct cpu_stats {
    double user = 0, system = 0, iowait = 0, steal = 0; // percent of all CPU time, 0-100
    std::vector<double> cores;                           // busy percent per core, 0-100
    bool operator==(const cpu_stats&) const = default;
};

struct memory_stats {
    std::uint64_t total_bytes = 0, used_bytes = 0, available_bytes = 0;
    std::uint64_t swap_total_bytes = 0, swap_used_bytes = 0;
    bool operator==(const memory_stats&) const = default;
};

struct disk_usage {
    std::string mount, device, fs;
    std::uint64_t total_bytes = 0, used_bytes = 0;
    double percent = 0;
    bool operator==(const disk_usage&) const = default;
};

struct disk_io {
    std::string device;
    double read_bytes_per_s = 0, write_bytes_per_s = 0;
    bool operator==(const disk_io&) const = default;
};

struct network_interface {
    std::string interface;
    double rx_bytes_per_s = 0, tx_bytes_per_s = 0;
    std::uint64_t rx_bytes_total = 0, tx_bytes_total = 0;
    bool operator==(const network_interface&) const = default;
};

// One Docker container as the agent saw it this interval (only when [docker] is enabled).
// Rates and usage are absent while unknown (first sight, or the daemon did not answer in time and
// there is no earlier value); `stale` marks values carried over from an earlier interval.
struct container_stats {
    std::string id, name, image, state, status;
    std::optional<double> cpu_percent;
    std::optional<std::uint64_t> memory_bytes, memory_limit_bytes;
    std::optional<double> rx_bytes_per_s, tx_bytes_per_s;
    bool stale = false;
    bool operator==(const container_stats&) const = default;
};

// One sample's measurements: the "data" object frontends receive and the REST history returns.
struct sample_data {
    std::int64_t timestamp_ms = 0;
    std::optional<double> cpu_percent;
    std::optional<double> memory_percent;
    std::optional<std::array<double, 3>> load; // 1, 5, 15 minutes
    std::optional<std::uint64_t> uptime_s;
    std::optional<cpu_stats> cpu;
    std::optional<memory_stats> memory;
    std::vector<proto::disk_usage> disk_usage; // qualified: the member shares the type's name
    std::vector<proto::disk_io> disk_io;
    std::vector<network_interface> network;
    std::optional<std::vector<container_stats>> containers; // absent: docker not enabled or not reachable
    bool operator==(const sample_data&) const = default;
};

// ---- agent -> collector --------------------------------------------------------------------

struct auth_request {
    std::string api_key, agent_version, hostname;
    std::optional<std::uint32_t> interval_s{}; // the agent's sampling interval, 1-60: the collector's liveness clock
    bool operator==(const auth_request&) const = default;
};

struct metrics {
    std::string server_id;
    std::uint64_t seq = 0;
    sample_data data;
    bool operator==(const metrics&) const = default;
};

// ---- collector -> agent --------------------------------------------------------------------

struct auth_success {
    std::string server_id;
    std::string message = "Connected successfully";
    bool operator==(const auth_success&) const = default;
};

// Every sample with seq <= this one on `stream` is committed to disk.
struct ack {
    std::uint64_t seq = 0;
    std::string stream = "metrics";
    bool operator==(const ack&) const = default;
};

// ---- commands (PROTOCOL.md, section 10) ------------------------------------------------------
// collector -> agent. Every field but `signature` is covered by the Ed25519 signature over
// proto::signing_payload(); times are the wire's ISO strings, carried as Unix milliseconds.

struct command {
    std::string command_id; // uuid
    std::string command;    // run as `/bin/sh -c command`
    std::uint32_t timeout_s = 60;
    std::string server_id, issued_by;
    std::int64_t issued_at_ms = 0, expires_at_ms = 0;
    std::string signature; // base64 of the 64-byte Ed25519 signature
    bool operator==(const proto::command&) const = default; // qualified: the member shares the name
};

struct docker_command {
    std::string command_id;
    std::string action; // start, stop, restart, pause, unpause, kill, remove
    std::string container_id;
    std::string server_id, issued_by;
    std::int64_t issued_at_ms = 0, expires_at_ms = 0;
    std::string signature;
    bool operator==(const docker_command&) const = default;
};

// agent -> collector, while a command runs.
struct command_output {
    std::string command_id;
    std::string stream; // "stdout" or "stderr"
    std::string data;
    bool operator==(const command_output&) const = default;
};

// agent -> collector, once per command: its result, or its refusal (`error` set, exit_code -1).
struct command_response {
    std::string command_id;
    std::string output;
    std::int64_t exit_code = 0;
    std::int64_t duration_ms = 0;
    bool truncated = false, timed_out = false;
    std::optional<std::string> error;   // denied, disabled, bad_signature, expired, replayed, busy
    std::optional<std::string> message; // why, for the operator (never secrets)
    bool operator==(const command_response&) const = default;
};

struct docker_response {
    std::string command_id;
    bool success = false;
    std::string message;
    std::optional<std::string> error; // set when the agent refused the action (as command_response.error)
    bool operator==(const docker_response&) const = default;
};

// ---- logs and gaps (PROTOCOL.md, section 11) -------------------------------------------------

// One log line as the agent ships it and the collector stores and forwards it.
struct log_entry {
    std::int64_t timestamp_ms = 0;
    std::string level;   // DEBUG, INFO, NOTICE, WARN, ERROR, CRIT
    std::string source;  // the file's path, or "journal:<unit>"
    std::string message; // at most max_log_message_bytes; `truncated` when the agent cut it
    bool truncated = false;
    bool operator==(const log_entry&) const = default;
};

// agent -> collector: {"type":"log","seq":N,"entries":[…]}, acked as {"type":"ack","stream":"logs"}.
struct log_batch {
    std::uint64_t seq = 0; // the logs stream's own seq (independent of metrics)
    std::vector<log_entry> entries;
    bool operator==(const log_batch&) const = default;
};

// agent -> collector: records of `stream` the agent's spool dropped (full, or too old) before the
// collector acknowledged them. Times are absent when the agent no longer knows them.
struct gap {
    std::string stream = "metrics"; // "metrics" or "logs"
    std::uint64_t first_seq = 0, last_seq = 0, count = 0;
    std::optional<std::int64_t> from_ms, to_ms;
    std::string reason; // "spool_full", "spool_age", "unknown"
    bool operator==(const gap&) const = default;
};

// ---- either direction ----------------------------------------------------------------------

struct ping {
    bool operator==(const ping&) const = default;
};

struct pong {
    std::int64_t timestamp_ms = 0;
    bool operator==(const pong&) const = default;
};

struct error {
    std::string code; // "auth_failed", "invalid_message", "invalid_subscription", ...
    std::string message;
    std::optional<std::uint32_t> retry_after_s;
    bool operator==(const error&) const = default;
};

// ---- frontend <-> collector ----------------------------------------------------------------

struct frontend_auth {
    std::string token;
    bool operator==(const frontend_auth&) const = default;
};

struct subscribe {
    std::vector<std::string> metrics;       // top-level sample_data field names; empty = all
    std::optional<std::int64_t> min_interval_ms; // validated by the collector: 100-60000
    std::optional<std::int64_t> history_s;       // validated by the collector: 0-86400
    bool operator==(const subscribe&) const = default;
};

// The logs socket's subscribe (PROTOCOL.md, section 11.3). Every field optional; absent means no
// restriction. Values are checked by the collector (invalid_subscription), sizes by the codec.
struct log_subscribe {
    std::optional<std::string> level;   // minimum level: DEBUG, INFO, NOTICE, WARN, ERROR, CRIT
    std::optional<std::string> search;  // substring, or a query (section 11.4)
    std::optional<std::string> source;  // exact source
    std::optional<std::int64_t> history; // send the last N matching stored entries first: 0-1000
    bool operator==(const log_subscribe&) const = default;
};

// What each side may receive. A decoder rejects a valid message of a type the receiver does not
// expect (an agent sending "auth_success") as invalid_message, naming the type.
using from_agent = std::variant<auth_request, metrics, ping, pong, error, command_output, command_response,
                                docker_response, log_batch, gap>;
using from_collector = std::variant<auth_success, ack, ping, pong, error, command, docker_command>;
using from_frontend = std::variant<frontend_auth, subscribe, ping, pong>;       // the metrics socket
using from_log_frontend = std::variant<frontend_auth, log_subscribe, ping, pong>; // the logs socket

} // namespace corvid::proto
