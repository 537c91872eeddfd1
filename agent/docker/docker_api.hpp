#pragma once
// The Docker Engine API as the agent uses it, without I/O: which actions exist and how each maps
// to a request, which container ids are acceptable, the API version we speak, and how answers
// and failures become the one-line messages an operator reads. Pure functions; thread-safe.
// Tested on fixture text in tests/docker/docker_api_test.cpp.
#include <chrono>
#include <compare>
#include <optional>
#include <string>
#include <string_view>

#include <boost/system/error_code.hpp>

namespace corvid::agent::docker {

// ---- API version ------------------------------------------------------------------------------

struct api_version {
    int major = 1;
    int minor = 41;
    auto operator<=>(const api_version&) const = default;
    std::string text() const;   // "1.41"
    std::string prefix() const; // "/v1.41", put in front of every versioned path
};

// The newest version this client is written and tested against (podman 4 and Docker 20.10 speak it;
// newer daemons still accept it). Nothing we call changed shape between 1.24 and 1.41, and Docker
// refuses versions below 1.24 since Engine 25.
inline constexpr api_version max_supported_api{1, 41};
inline constexpr api_version min_supported_api{1, 24};

// "1.41" -> {1, 41}; nullopt for anything else (no spaces, no suffixes, numbers below 1000).
std::optional<api_version> parse_api_version(std::string_view text);
// min(daemon's, max_supported_api); nullopt when unparseable or below min_supported_api.
std::optional<api_version> negotiate_api_version(std::string_view daemon_version);

// ---- actions ----------------------------------------------------------------------------------

enum class action { start, stop, restart, pause, unpause, kill, remove };

// Exactly the seven lower-case names; anything else is nullopt.
std::optional<action> parse_action(std::string_view name);
std::string_view action_name(action a);

// 1-128 characters of [A-Za-z0-9_.-]: a full or short id or a name. Nothing that could change
// the request path (no '/', '?', '%', spaces, ..). Container ids come from the network.
bool valid_container_id(std::string_view id);

// What run_action() answers. `refused`: the agent did not ask Docker at all (bad action or id),
// which the uplink reports in docker_response.error.
struct action_outcome {
    bool success = false;
    std::string message;
    bool refused = false;
};

struct action_request {
    bool is_delete = false; // DELETE, else POST
    std::string target;     // "/v1.41/containers/abc/stop"
};
// remove is DELETE /containers/{id} without force and without v: a running container is refused
// by the daemon (stop it first), and its anonymous volumes are kept, as `docker rm` does.
// stop and restart pass no `t`: the container's own stop timeout (10 s unless configured) applies.
action_request make_action_request(api_version v, action a, std::string_view id);

// The answer of the daemon to an action request, as an outcome with a clear message:
// 204 -> "Container started" (...), 304 -> "Container already started" / "already stopped",
// 404 -> "No such container: <id>", 409 (and podman's 500 "container state improper", which is
// Docker's 409) -> the daemon's message, other 5xx -> "Docker error: <daemon message>".
action_outcome map_action_response(action a, std::string_view id, unsigned status, std::string_view body);

// A request that got no HTTP answer: "Docker socket <path> unreachable: <reason>" when the socket
// could not be reached, "Docker did not answer within N s" on the deadline, otherwise what broke.
std::string transport_failure_message(const boost::system::error_code& ec, bool connected,
                                      std::string_view socket_path, std::chrono::milliseconds timeout);

// The "message" of a Docker error body ({"message":"..."}), or the body itself when it is not
// that JSON; trimmed, control characters replaced, cut to 512 bytes. Untrusted input.
std::string daemon_message(std::string_view body);

} // namespace corvid::agent::docker
