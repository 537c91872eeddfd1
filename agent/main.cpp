// corvid-agent: samples this host's metrics and pushes them to the collector (see README).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <unistd.h>

#include "agent/config.hpp"
#include "agent/sampling.hpp"
#include "agent/uplink.hpp"
#include "common/log.hpp"
#include "common/time_format.hpp"
#include "proto/codec.hpp"

namespace {
using namespace corvid;
using namespace corvid::agent;

std::string host_name()
{
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0)
        return "unknown";
    return buf;
}

// --once: two readings one second apart (rates need a previous value), printed as the sample's
// "data" object, so operators and tests can see exactly what the agent would send.
int print_one_sample(const agent_config& cfg)
{
    metrics_sampler sampler(cfg.sampler);
    sampler.sample(now_unix_ms());
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const auto data = sampler.sample(now_unix_ms());
    std::printf("%s\n", proto::encode_sample_data(data).c_str());
    return 0;
}

int run_agent(const agent_config& cfg)
{
    net::io_context io(1);
    metrics_sampler sampler(cfg.sampler);
    outbox box;
    uplink_settings us;
    us.collector_url = cfg.collector_url;
    us.api_key = cfg.api_key;
    us.api_key_file = cfg.api_key_file;
    us.interval = std::chrono::seconds(cfg.interval_s);
    us.ca_file = cfg.ca_file;
    us.hostname = host_name();
    us.agent_version = CORVID_VERSION;
    uplink link(io.get_executor(), us, box);
    sampling clock(io.get_executor(), sampler, box, std::chrono::seconds(cfg.interval_s),
                   [&link] { link.notify_sample(); });

    net::signal_set signals(io, SIGTERM, SIGINT);
    net::steady_timer hard_deadline(io);
    // When both loops have ended politely nothing else needs to wait for the deadline.
    int running = 2;
    auto on_loop_end = [&](std::exception_ptr e) {
        if (e)
            std::rethrow_exception(e);
        if (--running == 0) {
            hard_deadline.cancel();
            signals.cancel();
        }
    };
    net::co_spawn(io, link.run(), on_loop_end);
    net::co_spawn(io, clock.run(), on_loop_end);

    signals.async_wait([&](boost::system::error_code ec, int sig) {
        if (ec)
            return;
        log::info("signal {} received, stopping", sig);
        link.stop();
        clock.stop();
        // Whatever has not finished politely by then is cut off: shutdown takes at most 2 s.
        hard_deadline.expires_after(std::chrono::milliseconds(1800));
        hard_deadline.async_wait([&io](boost::system::error_code e) {
            if (!e)
                io.stop();
        });
    });
    log::info("corvid-agent {} started: collector {}, interval {} s", CORVID_VERSION, cfg.collector_url, cfg.interval_s);
    io.run();
    log::info("corvid-agent stopped");
    return 0;
}
} // namespace

int main(int argc, char** argv)
{
    const env_lookup env = [](const std::string& name) -> std::optional<std::string> {
        if (const char* v = std::getenv(name.c_str()))
            return std::string(v);
        return std::nullopt;
    };
    auto inv = load_agent_invocation(argc, argv, env);
    if (!inv) {
        std::fprintf(stderr, "corvid-agent: %s: %s\n", inv.error().key.c_str(), inv.error().message.c_str());
        return 2;
    }
    if (inv->help) {
        std::printf("%s", agent_usage().c_str());
        return 0;
    }
    if (inv->version) {
        std::printf("corvid-agent %s\n", CORVID_VERSION);
        return 0;
    }
    log::level lvl;
    if (log::parse_level(inv->config.log_level, lvl))
        log::set_min_level(lvl);
    for (const auto& w : inv->warnings)
        log::warn("{}", w);
    try {
        if (inv->once)
            return print_one_sample(inv->config);
        return run_agent(inv->config);
    } catch (const std::exception& e) {
        log::error("fatal: {}", e.what());
        return 1;
    }
}
