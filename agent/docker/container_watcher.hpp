#pragma once
// Keeps the latest view of the host's Docker containers for the metrics frames: run() lists the
// containers with one-shot stats every interval, timed to end just before each wall-clock
// multiple of the interval (when the sampling clock ticks), and latest() hands the result to the
// sampling loop without waiting for anything.
// A refresh that fails or misses its deadline (min(interval / 2, 3 s)) leaves the previous list
// in place with every entry marked stale; a container whose stats alone were late keeps its last
// values, marked stale. A change between working and failing is logged once, not every interval.
// Threading: io thread only. stop() ends run() promptly (requests in flight are cancelled).
// Lifetime: as docker_client's - destroy it after run() and every action ended, or the io_context stopped.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "agent/docker/container_rates.hpp"
#include "agent/docker/docker_client.hpp"
#include "proto/messages.hpp"

namespace corvid::agent::docker {

// The deadline of one refresh for a given interval: min(interval / 2, 3 s).
std::chrono::milliseconds refresh_deadline(std::chrono::milliseconds interval);

class container_watcher {
public:
    container_watcher(net::any_io_executor ex, std::chrono::milliseconds interval, std::string socket_path);

    net::awaitable<void> run();
    void stop();

    // nullopt until the first listing succeeded; afterwards the latest list (possibly stale).
    const std::optional<std::vector<proto::container_stats>>& latest() const { return latest_; }

    // The client, for container actions: it shares the negotiated API version and is cancelled
    // by stop() as well.
    docker_client& client() { return client_; }

    // Runs one refresh now (run() calls this on its clock); for tests and tools.
    net::awaitable<void> refresh();

private:
    net::any_io_executor ex_;
    std::chrono::milliseconds interval_;
    docker_client client_;
    container_rates rates_;
    std::optional<std::vector<proto::container_stats>> latest_;
    net::steady_timer timer_;
    bool stopping_ = false;
    bool failing_ = false;        // the last refresh failed (logged once when it started to)
    bool stats_lagging_ = false;  // some stats missed the deadline last time (logged once)
    bool truncated_logged_ = false;
};

} // namespace corvid::agent::docker
