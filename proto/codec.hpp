#pragma once
// Decoding and encoding of wire protocol v1 (proto/PROTOCOL.md).
// Decoders: simdjson on-demand into the typed structs of messages.hpp. Unknown fields are ignored;
// a missing or mistyped required field, a non-object, trailing content or a value outside its
// range is a decode_error whose message names the field ("metrics.seq: expected unsigned integer").
// Encoders: fmt plus corvid::append_json_string, so output is always valid UTF-8 JSON.
// All functions are pure and thread-safe.
#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proto/messages.hpp"

namespace corvid::proto {

enum class decode_errc {
    not_json = 1,     // not parseable as JSON, or nested too deep
    not_object,       // the document is not a JSON object
    missing_type,     // no "type" string
    unknown_type,     // a "type" this protocol version does not define
    unexpected_type,  // a defined type the receiver does not accept
    missing_field,
    wrong_type,       // a field of the wrong JSON type
    invalid_value,    // right type, out of range (negative byte count, bad timestamp, ...)
    trailing_content, // bytes after the object
};

struct decode_error {
    decode_errc code;
    std::string message;
};

template <class T> using decode_result = boost::system::result<T, decode_error>;

// The largest text frame either side accepts; larger frames are refused before parsing.
inline constexpr std::size_t max_frame_bytes = 1 << 20;
// One `metrics` message from an agent (PROTOCOL.md 8). The largest real hosts (thousands of cores,
// hundreds of containers and their veth interfaces) stay well under it; agents cut the longest
// lists of a larger sample rather than send it, and the collector refuses one with 1009.
inline constexpr std::size_t max_sample_frame_bytes = 256 * 1024;
// How far ahead of the collector's clock a sample or log entry may be (PROTOCOL.md 3): beyond it
// the agent's clock is wrong, and a sample from year 9999 would hide every later one.
inline constexpr std::int64_t max_clock_ahead_ms = 5 * 60 * 1000;
// Command text and one command_output chunk (bytes after unescaping).
inline constexpr std::size_t max_command_bytes = 16 * 1024;
inline constexpr std::size_t max_output_chunk_bytes = 64 * 1024;
inline constexpr std::uint32_t max_command_timeout_s = 86400;
// Logs (PROTOCOL.md, section 11): one entry's message (bytes after unescaping; agents cut longer
// lines and set `truncated`), entries per `log` message, and the history a logs subscriber may ask for.
inline constexpr std::size_t max_log_message_bytes = 64 * 1024;
// What an agent sends at most on one connection, every message counted (PROTOCOL.md 8): below the
// collector's limit (50/s, bursts of 1000), so pacing, never the collector, bounds a replay.
inline constexpr double agent_send_rate_per_s = 45, agent_send_burst = 200;
inline constexpr std::size_t max_log_entries = 1000;
inline constexpr std::int64_t max_log_history = 1000;

// The container actions of docker_command, and what a container_id may look like: 1-128
// characters of [A-Za-z0-9_.-], not "." or "..", so it can never change an Engine API path.
inline constexpr std::string_view docker_actions[] = {"start", "stop", "restart", "pause", "unpause", "kill", "remove"};
bool is_docker_action(std::string_view action);
bool is_container_ref(std::string_view id);

decode_result<from_agent> decode_from_agent(std::string_view json);
decode_result<from_collector> decode_from_collector(std::string_view json);
decode_result<from_frontend> decode_from_frontend(std::string_view json);
// The logs socket (/api/v1/ws/logs/{id}): its subscribe has other fields than the metrics one.
decode_result<from_log_frontend> decode_from_log_frontend(std::string_view json);
// The "data" object of a sample on its own, as the collector stores it.
decode_result<sample_data> decode_sample_data(std::string_view json);

// ---- top-level fields of sample_data, for frontend field selection -------------------------

enum class sample_field : unsigned {
    cpu_percent, memory_percent, load, uptime_s, cpu, memory, disk_usage, disk_io, network, containers, count_
};
using field_mask = std::uint32_t;
inline constexpr field_mask all_fields = (1u << static_cast<unsigned>(sample_field::count_)) - 1;
constexpr field_mask mask_of(sample_field f) { return 1u << static_cast<unsigned>(f); }
std::optional<sample_field> sample_field_from_name(std::string_view name);

// ---- log levels ------------------------------------------------------------------------------

// Ordered: a subscriber's minimum level admits its own level and every one after it.
enum class log_level : std::uint8_t { debug, info, notice, warn, error, crit };
inline constexpr std::string_view log_level_names[] = {"DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "CRIT"};
// Exactly the wire's upper-case names.
std::optional<log_level> log_level_from_name(std::string_view name);
std::string_view log_level_name(log_level level);

// ---- encoders --------------------------------------------------------------------------------

std::string encode(const auth_request&);
std::string encode(const metrics&);
std::string encode(const auth_success&);
std::string encode(const ack&);
std::string encode(const ping&);
std::string encode(const pong&);
std::string encode(const error&);
std::string encode(const frontend_auth&);
std::string encode(const subscribe&);
std::string encode(const command&);
std::string encode(const docker_command&);
std::string encode(const command_output&);
std::string encode(const command_response&);
std::string encode(const docker_response&);
std::string encode(const log_batch&);
std::string encode(const gap&);
std::string encode(const log_subscribe&);

// {"timestamp":…, …fields in mask…}; "timestamp" is always present.
std::string encode_sample_data(const sample_data&, field_mask mask = all_fields);
// collector -> frontend: {"type":"metrics","server_id":…,"data":{…}}
std::string encode_frontend_metrics(std::string_view server_id, const sample_data&, field_mask mask = all_fields);
// collector -> frontend: {"type":"history","data":[{…},…]} oldest first
std::string encode_history(const std::vector<sample_data>&, field_mask mask = all_fields);
// collector -> frontend: {"type":"status","data":{"online":…,"last_seen":"…"|null}}
std::string encode_status(bool online, std::optional<std::int64_t> last_seen_ms);
// One log entry as an object: {"timestamp":…,"level":…,"source":…,"message":…[,"truncated":true]}
// (the logs socket's "data" and the REST API's entries).
std::string encode_log_entry(const log_entry&);
void append_log_entry(std::string& out, const log_entry&);
// collector -> frontend: {"type":"log","data":{…}}
std::string encode_frontend_log(const log_entry&);
// collector -> frontend: {"type":"dropped","count":N}, N live entries left out for a slow reader
std::string encode_dropped(std::uint64_t count);

} // namespace corvid::proto
