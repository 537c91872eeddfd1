// corvid-docker-probe: drives the agent's Docker client from the command line, for the podman tests
// (tests/docker/test_docker_client.py) and for a look at a real daemon by hand. Prints JSON.
//
//   corvid-docker-probe action SOCKET ACTION CONTAINER [--timeout-ms N]
//       {"success":true,"message":"Container stopped","refused":false}
//   corvid-docker-probe list SOCKET [--refreshes N] [--pause-ms M] [--interval-ms I]
//       N refreshes of a container_watcher, M ms apart; then {"api":"1.41","containers":[...]|null}
//   corvid-docker-probe watch SOCKET --interval-ms I
//       runs container_watcher::run() and prints {"containers":[...]|null} at every wall-clock
//       multiple of I (as the sampling clock reads latest()), until SIGTERM or SIGINT, which stop
//       the watcher: the exit code is 0 only if run() ended.
// Exit codes: 0 done, 2 usage.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "agent/docker/container_watcher.hpp"
#include "agent/docker/docker_client.hpp"
#include "common/deadline.hpp"
#include "common/json_text.hpp"
#include "common/time_format.hpp"

namespace net = boost::asio;
using namespace corvid::agent::docker;
using std::chrono::milliseconds;

namespace {

int usage()
{
    std::fputs("usage: corvid-docker-probe action SOCKET ACTION CONTAINER [--timeout-ms N]\n"
               "       corvid-docker-probe list SOCKET [--refreshes N] [--pause-ms M] [--interval-ms I]\n"
               "       corvid-docker-probe watch SOCKET --interval-ms I\n",
               stderr);
    return 2;
}

bool option(const std::vector<std::string_view>& args, std::string_view name, long& out)
{
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i] == name) {
            const auto v = args[i + 1];
            auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
            return ec == std::errc{} && end == v.data() + v.size();
        }
    return true; // absent: the default stays
}

void put_optional(std::string& out, std::string_view key, const std::optional<double>& v)
{
    out.append(",\"").append(key).append("\":");
    if (v)
        corvid::append_json_number(out, *v);
    else
        out.append("null");
}

void put_optional(std::string& out, std::string_view key, const std::optional<std::uint64_t>& v)
{
    out.append(",\"").append(key).append("\":");
    out.append(v ? std::to_string(*v) : "null");
}

std::string containers_json(const std::optional<std::vector<corvid::proto::container_stats>>& list)
{
    if (!list)
        return "null";
    std::string out = "[";
    for (const auto& c : *list) {
        if (out.size() > 1)
            out.push_back(',');
        out.append("{\"id\":");
        corvid::append_json_string(out, c.id);
        out.append(",\"name\":");
        corvid::append_json_string(out, c.name);
        out.append(",\"image\":");
        corvid::append_json_string(out, c.image);
        out.append(",\"state\":");
        corvid::append_json_string(out, c.state);
        out.append(",\"status\":");
        corvid::append_json_string(out, c.status);
        put_optional(out, "cpu_percent", c.cpu_percent);
        put_optional(out, "memory_bytes", c.memory_bytes);
        put_optional(out, "memory_limit_bytes", c.memory_limit_bytes);
        put_optional(out, "rx_bytes_per_s", c.rx_bytes_per_s);
        put_optional(out, "tx_bytes_per_s", c.tx_bytes_per_s);
        out.append(c.stale ? ",\"stale\":true}" : ",\"stale\":false}");
    }
    out.push_back(']');
    return out;
}

void print_line(const std::string& s)
{
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

net::awaitable<void> do_action(std::string socket, std::string action, std::string id, milliseconds timeout)
{
    auto ex = co_await net::this_coro::executor;
    docker_client_options options{.socket_path = socket, .action_timeout = timeout};
    docker_client client(ex, std::move(options));
    auto o = co_await client.run_action(action, id);
    std::string out = "{\"success\":";
    out.append(o.success ? "true" : "false");
    out.append(",\"message\":");
    corvid::append_json_string(out, o.message);
    out.append(o.refused ? ",\"refused\":true}" : ",\"refused\":false}");
    print_line(out);
}

net::awaitable<void> do_list(std::string socket, long refreshes, milliseconds pause, milliseconds interval)
{
    auto ex = co_await net::this_coro::executor;
    container_watcher watcher(ex, interval, socket);
    net::steady_timer timer(ex);
    for (long i = 0; i < refreshes; ++i) {
        if (i > 0) {
            timer.expires_after(pause);
            co_await timer.async_wait(corvid::use_tuple);
        }
        co_await watcher.refresh();
    }
    const auto& api = watcher.client().negotiated_api();
    std::string out = "{\"api\":";
    if (api)
        corvid::append_json_string(out, api->text());
    else
        out.append("null");
    out.append(",\"containers\":").append(containers_json(watcher.latest())).append("}");
    print_line(out);
}

// The sampling loop's side: read latest() at every wall-clock multiple of the interval.
net::awaitable<void> print_ticks(container_watcher& watcher, milliseconds interval, bool& stopping,
                                 net::steady_timer& timer)
{
    while (!stopping) {
        const auto now = corvid::now_unix_ms();
        const auto tick = (now / interval.count() + 1) * interval.count();
        timer.expires_after(milliseconds(tick - now));
        co_await timer.async_wait(corvid::use_tuple);
        if (stopping)
            break;
        const std::string line = "{\"containers\":" + containers_json(watcher.latest()) + "}";
        print_line(line);
    }
}

} // namespace

int main(int argc, char** argv)
{
    std::vector<std::string_view> args(argv + 1, argv + argc);
    if (args.size() < 2)
        return usage();
    const std::string command(args[0]);
    const std::string socket(args[1]);
    net::io_context io;
    int rc = 0;
    auto on_done = [&rc](std::exception_ptr e) {
        if (e)
            rc = 3;
    };

    if (command == "action") {
        long timeout_ms = 60'000;
        if (args.size() < 4 || !option(args, "--timeout-ms", timeout_ms))
            return usage();
        net::co_spawn(io, do_action(socket, std::string(args[2]), std::string(args[3]), milliseconds(timeout_ms)),
                      on_done);
        io.run();
        return rc;
    }
    if (command == "list") {
        long refreshes = 1, pause_ms = 1000, interval_ms = 5000;
        if (!option(args, "--refreshes", refreshes) || !option(args, "--pause-ms", pause_ms)
            || !option(args, "--interval-ms", interval_ms) || refreshes < 1)
            return usage();
        net::co_spawn(io, do_list(socket, refreshes, milliseconds(pause_ms), milliseconds(interval_ms)), on_done);
        io.run();
        return rc;
    }
    if (command == "watch") {
        long interval_ms = 0;
        if (!option(args, "--interval-ms", interval_ms) || interval_ms < 100)
            return usage();
        const milliseconds interval(interval_ms);
        container_watcher watcher(io.get_executor(), interval, socket);
        bool stopping = false;
        bool run_ended = false;
        net::steady_timer tick_timer(io);
        net::signal_set signals(io, SIGTERM, SIGINT);
        signals.async_wait([&](const boost::system::error_code& ec, int) {
            if (ec)
                return;
            stopping = true;
            watcher.stop();
        });
        net::co_spawn(io, watcher.run(), [&](std::exception_ptr e) {
            run_ended = !e;
            stopping = true;
            signals.cancel();
            tick_timer.cancel();
        });
        net::co_spawn(io, print_ticks(watcher, interval, stopping, tick_timer), net::detached);
        io.run();
        return run_ended ? 0 : 3;
    }
    return usage();
}
