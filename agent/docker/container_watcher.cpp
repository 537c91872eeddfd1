#include "agent/docker/container_watcher.hpp"

#include <algorithm>

#include "common/deadline.hpp"
#include "common/log.hpp"
#include "common/time_format.hpp"

namespace corvid::agent::docker {
using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {
// Margin between the end of a refresh and the sampling tick that reads it.
constexpr milliseconds tick_margin{100};

std::int64_t next_multiple_after(std::int64_t t, std::int64_t step) { return (t / step + 1) * step; }
} // namespace

milliseconds refresh_deadline(milliseconds interval) { return std::min<milliseconds>(interval / 2, milliseconds(3000)); }

container_watcher::container_watcher(net::any_io_executor ex, milliseconds interval, std::string socket_path)
    : ex_(ex), interval_(std::max(interval, milliseconds(100))),
      client_(ex, docker_client_options{.socket_path = std::move(socket_path)}), timer_(ex)
{
}

void container_watcher::stop()
{
    stopping_ = true;
    timer_.cancel();
    client_.cancel_all();
}

net::awaitable<void> container_watcher::refresh()
{
    const auto deadline = clock::now() + refresh_deadline(interval_);
    auto got = co_await client_.list_containers(deadline);
    if (stopping_)
        co_return;
    if (!got.ok) {
        if (!failing_ && latest_)
            log::warn("docker: cannot list containers: {}; reporting the last known values as stale", got.error);
        else if (!failing_)
            log::warn("docker: cannot list containers: {}; no containers reported until it answers", got.error);
        else
            log::debug("docker: cannot list containers: {}", got.error);
        failing_ = true;
        if (latest_)
            for (auto& c : *latest_)
                c.stale = true;
        co_return;
    }
    if (failing_)
        log::info("docker: containers listed again");
    failing_ = false;
    if (got.truncated && !truncated_logged_)
        log::warn("docker: more than {} containers; only the first {} are reported", max_containers, max_containers);
    truncated_logged_ = got.truncated;
    const bool lagging = got.stats_missing > 0;
    if (lagging && !stats_lagging_)
        log::warn("docker: stats of {} container(s) did not arrive within {} ms; their last values are marked stale",
                  got.stats_missing, refresh_deadline(interval_).count());
    else if (!lagging && stats_lagging_)
        log::info("docker: container stats arrive in time again");
    stats_lagging_ = lagging;
    latest_ = rates_.update(got.containers);
}

net::awaitable<void> container_watcher::run()
{
    const auto lead = refresh_deadline(interval_) + tick_margin;
    const std::int64_t interval_ms = interval_.count();
    while (!stopping_) {
        co_await refresh();
        if (stopping_)
            break;
        // Start the next refresh so that it ends (at the latest) just before the next tick of
        // the sampling clock, which samples at wall-clock multiples of the interval.
        const std::int64_t now = now_unix_ms();
        const std::int64_t start = next_multiple_after(now + lead.count(), interval_ms) - lead.count();
        timer_.expires_after(milliseconds(start - now));
        co_await timer_.async_wait(use_tuple); // cancelled only by stop()
    }
}

} // namespace corvid::agent::docker
