#pragma once
// Parsers for the Docker Engine API answers the agent reads: the container list, one-shot
// stats, /version and error bodies. simdjson on-demand. The daemon's output is untrusted input:
// unknown fields are ignored, a missing or mistyped field leaves that value absent (never a
// crash, never a wrong number), strings are cut to the protocol's limits, lists are bounded.
// Pure functions; io thread only (they share one thread_local parser per thread, so any thread
// works, but the parser's buffer is kept between calls).
#include <boost/system/result.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corvid::agent::docker {

// Bounds on what one daemon answer can make the agent keep and send: a metrics frame must stay
// under the protocol's 1 MiB (proto/codec.hpp), and each string under its 1024-byte field limit.
inline constexpr std::size_t max_containers = 512;
inline constexpr std::size_t max_id_bytes = 128, max_name_bytes = 256, max_image_bytes = 256,
                             max_state_bytes = 32, max_status_bytes = 256;

struct json_error {
    std::string message;
};
[[noreturn]] void throw_exception_from_error(const json_error& e, const boost::source_location& loc);
template <class T> using json_result = boost::system::result<T, json_error>;

// One entry of GET /containers/json. `name` without the leading '/'.
struct container_entry {
    std::string id, name, image, state, status;
    bool operator==(const container_entry&) const = default;
};

// The list, in the daemon's order, at most max_containers entries (`truncated` says more were
// there). Entries without an "Id" string are skipped; other missing strings are empty.
struct container_list {
    std::vector<container_entry> containers;
    bool truncated = false;
};
json_result<container_list> parse_container_list(std::string_view json);

// What one GET /containers/{id}/stats?stream=false&one-shot=true says, raw counters only.
// Every value is absent when missing, mistyped or out of range.
struct stats_reading {
    std::optional<std::uint64_t> cpu_total_ns;  // cpu_stats.cpu_usage.total_usage
    std::optional<std::uint64_t> system_cpu_ns; // cpu_stats.system_cpu_usage
    std::optional<std::uint32_t> online_cpus;   // cpu_stats.online_cpus, else len(percpu_usage)
    // memory_stats.usage minus the page cache that can be dropped, as `docker stats` shows it:
    // usage - stats.total_inactive_file (cgroup v1), else usage - stats.inactive_file (cgroup v2),
    // else usage (podman on cgroup v1 sends no "stats"); never below zero.
    std::optional<std::uint64_t> memory_bytes;
    std::optional<std::uint64_t> memory_limit_bytes; // memory_stats.limit
    // Sums over every interface in "networks"; absent when there is no "networks" object.
    std::optional<std::uint64_t> rx_bytes, tx_bytes;
    bool operator==(const stats_reading&) const = default;
};
json_result<stats_reading> parse_stats(std::string_view json);

// GET /version: "ApiVersion".
json_result<std::string> parse_version_api(std::string_view json);

// A Docker (or podman) error body: {"message": "...", "cause": "..."} (podman adds "cause").
struct error_body {
    std::string message, cause;
};
std::optional<error_body> parse_error_body(std::string_view json);

} // namespace corvid::agent::docker
