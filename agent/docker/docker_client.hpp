#pragma once
// The agent's Docker Engine API client: container actions and the container list with one-shot
// stats, over the daemon's unix socket. Speaks API min(daemon's, 1.41), negotiated once with
// GET /_ping (its API-Version header) or GET /version, and again after the socket was
// unreachable (the daemon may have been replaced). Every failure comes back as a value with a
// message an operator can act on; nothing throws for an answer the daemon gives.
// Threading: io thread only. Cancellation: every call has a deadline; cancel_all() ends every
// call in flight promptly (their sockets are closed) - used when the agent stops.
// Lifetime: destroy the client only once its calls have completed or its io_context has stopped
// (a call resumed after the client is gone would touch freed memory).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/docker/container_rates.hpp"
#include "agent/docker/docker_api.hpp"
#include "agent/docker/unix_http.hpp"

namespace corvid::agent::docker {

struct docker_client_options {
    std::string socket_path = "/var/run/docker.sock";
    // stop and restart wait for the container's own stop timeout (10 s unless configured) before
    // SIGKILL, so an action gets far longer than a listing.
    std::chrono::milliseconds action_timeout{60'000};
    // Stats requests in flight at once during a listing (each is one connection to the daemon).
    std::size_t max_parallel_stats = 8;
    // Actions in flight at once; one more is refused at once ("too many ... in progress") rather
    // than queued, since each may take up to action_timeout.
    std::size_t max_parallel_actions = 4;
    std::size_t body_limit = unix_http_client::default_body_limit;
};

struct list_outcome {
    bool ok = false;
    std::string error; // when !ok: why, in one line
    std::vector<container_reading> containers;
    bool truncated = false;       // the daemon listed more than max_containers
    std::size_t stats_missing = 0; // running containers whose stats did not arrive in time
};

class docker_client {
public:
    docker_client(net::any_io_executor ex, docker_client_options options);

    // One action on one container: start, stop, restart, pause, unpause, kill (POST
    // /containers/{id}/{action}) or remove (DELETE /containers/{id}, no force: see docker_api.hpp).
    // The action and id are checked before any request (they come from the network); so is the
    // number of actions in flight (max_parallel_actions).
    // The views must stay valid until the call completes. Ends within options.action_timeout.
    net::awaitable<action_outcome> run_action(std::string_view action, std::string_view container_id);

    // GET /containers/json?all=true, then GET /containers/{id}/stats?stream=false&one-shot=true
    // for every running or paused container, at most max_parallel_stats at a time, all before
    // `deadline`. A stats answer that misses the deadline marks that container stats_missing;
    // a list that misses it fails the whole call.
    net::awaitable<list_outcome> list_containers(std::chrono::steady_clock::time_point deadline);

    void cancel_all() { http_.cancel_all(); }
    const std::optional<api_version>& negotiated_api() const { return api_; }
    const std::string& socket_path() const { return options_.socket_path; }

private:
    // The negotiated version, negotiating first if needed; on failure the message.
    struct api_or_error {
        std::optional<api_version> api;
        std::string error;
    };
    net::awaitable<api_or_error> ensure_api(std::chrono::steady_clock::time_point deadline,
                                            std::chrono::milliseconds budget);
    std::string failure(const http_outcome& r, std::chrono::milliseconds budget);

    net::any_io_executor ex_;
    docker_client_options options_;
    unix_http_client http_;
    std::optional<api_version> api_;
    // Shared with each action's frame, which may be destroyed after the client (io_context torn
    // down with work pending).
    std::shared_ptr<std::size_t> actions_in_flight_ = std::make_shared<std::size_t>(0);
};

} // namespace corvid::agent::docker
