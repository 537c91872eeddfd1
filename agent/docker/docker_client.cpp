#include "agent/docker/docker_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <exception>
#include <fmt/format.h>
#include <memory>

#include "common/deadline.hpp"
#include "common/log.hpp"

namespace corvid::agent::docker {
using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {
// The stats of one listing: shared by the workers that fetch them and the listing that waits,
// so a worker that outlives the wait (it cannot, barring a bug) still writes to live memory.
struct stats_batch {
    explicit stats_batch(net::any_io_executor ex) : done(std::move(ex)) {}
    std::vector<container_reading> readings;
    std::vector<std::size_t> todo; // indices into readings
    std::size_t next = 0;
    std::size_t workers = 0;
    bool aborted = false;
    net::steady_timer done; // a condition variable: cancelled when the last worker ends
};

net::awaitable<void> stats_worker(unix_http_client& http, std::shared_ptr<stats_batch> batch, std::string prefix,
                                  clock::time_point deadline)
{
    while (batch->next < batch->todo.size() && !batch->aborted) {
        auto& reading = batch->readings[batch->todo[batch->next++]];
        reading.stats_missing = true;
        if (clock::now() >= deadline)
            continue;
        const std::string target = prefix + "/containers/" + reading.entry.id + "/stats?stream=false&one-shot=true";
        auto r = co_await http.request(http_method::get, target, deadline);
        reading.read_at = clock::now();
        if (r.ec == net::error::operation_aborted) {
            batch->aborted = true;
            break;
        }
        if (r.ec || r.status != 200)
            continue; // gone since the list, or too slow: stats_missing
        auto stats = parse_stats(r.body);
        if (!stats) {
            log::debug("docker: stats of {} unreadable: {}", reading.entry.id, stats.error().message);
            continue;
        }
        reading.stats = std::move(*stats);
        reading.stats_missing = false;
    }
}

std::string clip_for_message(std::string_view s)
{
    std::string out(s.substr(0, 32));
    for (auto& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
            c = '?';
    return out;
}
} // namespace

docker_client::docker_client(net::any_io_executor ex, docker_client_options options)
    : ex_(ex), options_(std::move(options)), http_(ex_, options_.socket_path, options_.body_limit)
{
}

std::string docker_client::failure(const http_outcome& r, milliseconds budget)
{
    // Unreachable: the daemon may come back as another version; negotiate again then.
    if (!r.connected && r.ec != http_errc::timeout && r.ec != net::error::operation_aborted)
        api_.reset();
    return transport_failure_message(r.ec, r.connected, options_.socket_path, budget);
}

net::awaitable<docker_client::api_or_error> docker_client::ensure_api(clock::time_point deadline, milliseconds budget)
{
    api_or_error out;
    if (api_) {
        out.api = api_;
        co_return out;
    }
    const std::string ping_target = "/_ping";
    auto ping = co_await http_.request(http_method::get, ping_target, deadline);
    if (ping.ec) {
        out.error = failure(ping, budget);
        co_return out;
    }
    std::string daemon = ping.api_version;
    if (ping.status != 200 || daemon.empty()) {
        // Daemons before API 1.25 do not send API-Version on /_ping.
        const std::string version_target = "/version";
        auto v = co_await http_.request(http_method::get, version_target, deadline);
        if (v.ec) {
            out.error = failure(v, budget);
            co_return out;
        }
        if (v.status != 200) {
            out.error = fmt::format("Docker answered /version with HTTP {}: {}", v.status, daemon_message(v.body));
            co_return out;
        }
        auto parsed = parse_version_api(v.body);
        if (!parsed) {
            out.error = fmt::format("Docker /version unreadable: {}", parsed.error().message);
            co_return out;
        }
        daemon = std::move(*parsed);
    }
    const auto negotiated = negotiate_api_version(daemon);
    if (!negotiated) {
        out.error = fmt::format("Docker API version {} not supported (this agent needs {} or later)",
                                clip_for_message(daemon), min_supported_api.text());
        co_return out;
    }
    if (!api_)
        log::info("docker: {} speaks API {}; using {}", options_.socket_path, clip_for_message(daemon),
                  negotiated->text());
    api_ = negotiated;
    out.api = negotiated;
    co_return out;
}

net::awaitable<action_outcome> docker_client::run_action(std::string_view action_text, std::string_view container_id)
{
    action_outcome out;
    const auto a = parse_action(action_text);
    if (!a) {
        out.message = "Unknown action (expected start, stop, restart, pause, unpause, kill or remove)";
        out.refused = true;
        co_return out;
    }
    if (!valid_container_id(container_id)) {
        out.message = "Invalid container id (expected 1-128 characters of A-Z a-z 0-9 _ . -)";
        out.refused = true;
        co_return out;
    }
    if (*actions_in_flight_ >= options_.max_parallel_actions) {
        out.message = fmt::format("Too many Docker actions in progress ({}); try again when they have finished",
                                  *actions_in_flight_);
        out.refused = true;
        co_return out;
    }
    ++*actions_in_flight_;
    struct in_flight {
        std::shared_ptr<std::size_t> n;
        ~in_flight() { --*n; }
    } counted{actions_in_flight_};
    const std::string id(container_id);
    const auto budget = options_.action_timeout;
    const auto deadline = clock::now() + budget;
    auto api = co_await ensure_api(deadline, budget);
    if (!api.api) {
        out.message = std::move(api.error);
        log::warn("docker: {} {}: {}", action_name(*a), id, out.message);
        co_return out;
    }
    const auto req = make_action_request(*api.api, *a, id);
    const auto method = req.is_delete ? http_method::delete_ : http_method::post;
    auto r = co_await http_.request(method, req.target, deadline);
    if (r.ec) {
        out.message = failure(r, budget);
        log::warn("docker: {} {}: {}", action_name(*a), id, out.message);
        co_return out;
    }
    out = map_action_response(*a, id, r.status, r.body);
    log::info("docker: {} {}: {}", action_name(*a), id, out.message);
    co_return out;
}

net::awaitable<list_outcome> docker_client::list_containers(clock::time_point deadline)
{
    list_outcome out;
    const auto budget = std::chrono::duration_cast<milliseconds>(deadline - clock::now());
    auto api = co_await ensure_api(deadline, budget);
    if (!api.api) {
        out.error = std::move(api.error);
        co_return out;
    }
    const std::string prefix = api.api->prefix();
    const std::string list_target = prefix + "/containers/json?all=true";
    auto r = co_await http_.request(http_method::get, list_target, deadline);
    if (r.ec) {
        out.error = failure(r, budget);
        co_return out;
    }
    if (r.status != 200) {
        out.error = fmt::format("Docker answered the container list with HTTP {}: {}", r.status, daemon_message(r.body));
        co_return out;
    }
    auto list = parse_container_list(r.body);
    if (!list) {
        out.error = fmt::format("Docker container list unreadable: {}", list.error().message);
        co_return out;
    }
    out.truncated = list->truncated;

    auto batch = std::make_shared<stats_batch>(ex_);
    batch->readings.resize(list->containers.size());
    for (std::size_t i = 0; i < list->containers.size(); ++i) {
        batch->readings[i].entry = std::move(list->containers[i]);
        if (has_live_stats(batch->readings[i].entry.state))
            batch->todo.push_back(i);
    }
    const std::size_t workers = std::min(std::max<std::size_t>(options_.max_parallel_stats, 1), batch->todo.size());
    for (std::size_t w = 0; w < workers; ++w) {
        ++batch->workers;
        net::co_spawn(ex_, stats_worker(http_, batch, prefix, deadline), [batch](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& x) {
                    log::error("docker: stats worker failed: {}", x.what());
                }
            }
            if (--batch->workers == 0)
                batch->done.cancel();
        });
    }
    // Every request ends by the deadline (its socket is closed then), so the workers do too;
    // the grace second is a bound for the wait itself, never reached unless something is wrong.
    while (batch->workers > 0) {
        batch->done.expires_at(deadline + std::chrono::seconds(1));
        auto [ec] = co_await batch->done.async_wait(use_tuple);
        if (!ec) {
            log::error("docker: stats workers still running after the deadline");
            break;
        }
    }
    if (batch->workers == 0)
        out.containers = std::move(batch->readings);
    else
        out.containers = batch->readings; // the late workers keep writing to their own copy
    for (const auto& c : out.containers)
        out.stats_missing += c.stats_missing ? 1 : 0;
    out.ok = true;
    co_return out;
}

} // namespace corvid::agent::docker
