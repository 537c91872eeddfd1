// corvid-agent: samples this host's metrics and pushes them to the collector (see README).
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <unistd.h>

#include "agent/commands/command_dispatcher.hpp"
#include "agent/config.hpp"
#include "agent/docker/container_watcher.hpp"
#include "agent/log_shipping.hpp"
#include "agent/sampling.hpp"
#include "agent/spooled_frames.hpp"
#include "agent/uplink.hpp"
#include "common/log.hpp"
#include "common/service_notify.hpp"
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

// The identity commands run as, resolved before anything starts; a typo is a config error.
using identity_result = boost::system::result<std::optional<run_as_identity>, std::string>;

identity_result command_identity(const agent_config& cfg)
{
    const auto& p = cfg.remote.commands;
    if (!p.enabled || p.run_as.empty()) // without run_as a privileged agent has not got this far
        return std::optional<run_as_identity>();
    auto id = resolve_run_as(p.run_as);
    if (!id)
        return identity_result(boost::system::in_place_error, id.error());
    if (!can_switch_user())
        log::warn("commands.run_as = \"{}\" has no effect: the agent is neither root nor holds CAP_SETUID and "
                  "CAP_SETGID, so commands run as its own user",
                  p.run_as);
    return std::optional<run_as_identity>(std::move(*id));
}

// A spool under <state_dir>/spool/<name>, opened (and recovered) before anything runs.
std::optional<spool> open_spool(const agent_config& cfg, const std::string& name)
{
    spool_options o;
    o.dir = cfg.state_dir + "/spool/" + name;
    o.max_bytes = cfg.spool.max_bytes;
    o.max_age = cfg.spool.max_age;
    o.sync = cfg.spool.sync;
    // Seqs of a fresh spool start at the clock (ms × 1000), so a wiped state dir never reuses a
    // seq the collector has stored (logs are stored once per seq).
    o.first_seq = static_cast<std::uint64_t>(now_unix_ms()) * 1000;
    auto s = spool::open(o, now_unix_ms());
    if (!s) {
        log::error("cannot open the {} spool in {}: {} (state_dir must be writable by the agent)", name, o.dir,
                   s.error().message());
        return std::nullopt;
    }
    log::info("{} spool {}: {} unsent records ({} bytes)", name, o.dir, s->last_seq() - s->acked_seq(), s->bytes());
    return std::move(*s);
}

int run_agent(const agent_config& cfg)
{
    if (cfg.remote.commands.enabled && cfg.remote.commands.run_as == "root")
        log::warn("commands.run_as = \"root\": allowed commands run as root with every capability");
    auto identity = command_identity(cfg);
    if (!identity) {
        log::error("{}", identity.error());
        return 2;
    }
    auto metrics_spool = open_spool(cfg, "metrics");
    if (!metrics_spool)
        return 1;
    net::io_context io(1);
    metrics_sampler sampler(cfg.sampler);
    spooled_stream metrics("metrics", std::move(*metrics_spool),
                           [](const spooled_record& r, const std::string& server_id) {
                               return metrics_frame(server_id, r.seq, r.payload);
                           },
                           /*live_capacity=*/8);
    uplink_settings us;
    us.collector_url = cfg.collector_url;
    us.api_key = cfg.api_key;
    us.api_key_file = cfg.api_key_file;
    us.interval = std::chrono::seconds(cfg.interval_s);
    us.ca_file = cfg.ca_file;
    us.tls_pin_sha256 = cfg.tls_pin_sha256;
    us.hostname = host_name();
    us.agent_version = CORVID_VERSION;
    // Logs have a spool and a shipper of their own, only when a source is configured.
    std::optional<spooled_stream> log_stream;
    std::unique_ptr<log_shipping> shipping;
    if (cfg.logs.any_source()) {
        auto logs_spool = open_spool(cfg, "logs");
        if (!logs_spool)
            return 1;
        log_stream.emplace("logs", std::move(*logs_spool),
                     [](const spooled_record& r, const std::string&) { return std::string(log_payload_frame(r.payload)); },
                     /*live_capacity=*/8);
        shipping = std::make_unique<log_shipping>(io.get_executor(), *log_stream, cfg.logs, cfg.state_dir + "/log-positions");
    }
    std::vector<spooled_stream*> streams{&metrics};
    if (log_stream)
        streams.push_back(&*log_stream);
    uplink link(io.get_executor(), us, streams);
    sampling clock(io.get_executor(), sampler, metrics, std::chrono::seconds(cfg.interval_s));

    // Remote execution, only as far as this host's config allows (deny by default).
    // Ids of verified commands are kept on disk (replay_store) when anything remote can run.
    const bool remote_enabled = cfg.remote.commands.enabled || cfg.remote.docker.enabled;
    command_dispatcher dispatcher(io.get_executor(), cfg.remote, std::move(*identity),
                                  [&link](std::string frame, bool droppable) {
                                      link.send_control(std::move(frame), droppable);
                                  },
                                  remote_enabled ? cfg.state_dir + "/command-ids" : std::string());
    std::unique_ptr<docker::container_watcher> containers;
    if (cfg.remote.docker.enabled) {
        containers = std::make_unique<docker::container_watcher>(io.get_executor(), std::chrono::seconds(cfg.interval_s),
                                                                 cfg.remote.docker.socket);
        dispatcher.set_docker(&containers->client());
        clock.set_decorator([&containers](proto::sample_data& s) { s.containers = containers->latest(); });
    }
    link.set_command_handlers({
        [&dispatcher](const std::string& server_id) { dispatcher.on_authenticated(server_id); },
        [&dispatcher](const proto::command& c) { dispatcher.on_command(c); },
        [&dispatcher](const proto::docker_command& c) { dispatcher.on_docker_command(c); },
    });

    net::signal_set signals(io, SIGTERM, SIGINT);
    net::steady_timer hard_deadline(io);
    // systemd's watchdog (WatchdogSec=) is pinged from the io loop, so a wedged loop gets the
    // agent restarted; it stops with the two loops below.
    net::cancellation_signal watchdog_stop;
    net::co_spawn(io, watchdog_loop(), net::bind_cancellation_slot(watchdog_stop.slot(), net::detached));
    // When both loops have ended politely nothing else needs to wait for the deadline.
    int running = 2 + (containers ? 1 : 0) + (shipping ? 1 : 0);
    auto on_loop_end = [&](std::exception_ptr e) {
        if (e)
            std::rethrow_exception(e);
        if (--running == 0) {
            hard_deadline.cancel();
            signals.cancel();
            watchdog_stop.emit(net::cancellation_type::terminal);
        }
    };
    net::co_spawn(io, link.run(), on_loop_end);
    net::co_spawn(io, clock.run(), on_loop_end);
    if (containers)
        net::co_spawn(io, containers->run(), on_loop_end);
    if (shipping)
        net::co_spawn(io, shipping->run(), on_loop_end);

    signals.async_wait([&](boost::system::error_code ec, int sig) {
        if (ec)
            return;
        log::info("signal {} received, stopping", sig);
        notify_stopping();
        link.stop();
        clock.stop();
        dispatcher.stop(); // kills running commands' process groups; they still report if they can
        if (containers)
            containers->stop();
        if (shipping)
            shipping->stop();
        // Whatever has not finished politely by then is cut off: shutdown takes at most 2 s.
        hard_deadline.expires_after(std::chrono::milliseconds(1800));
        hard_deadline.async_wait([&io](boost::system::error_code e) {
            if (!e)
                io.stop();
        });
    });
    log::info("corvid-agent {} started: collector {}, interval {} s", CORVID_VERSION, cfg.collector_url, cfg.interval_s);
    // Ready once running: connecting may take a while (the collector may be down) and the
    // samples wait in the spool meanwhile, so startup does not depend on it.
    notify_ready("sending to " + cfg.collector_url);
    io.run();
    if (dispatcher.running() > 0) {
        // The hard deadline cut commands off mid-flight: their coroutines refer to objects of this
        // frame, so leave without running destructors (the kernel reaps what is left).
        log::warn("corvid-agent stopped with {} commands still ending", dispatcher.running());
        std::fflush(nullptr);
        std::_Exit(0);
    }
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
    // Issue 12.2: a privileged agent runs commands as root only when its config says so.
    if (!inv->once) {
        if (auto problem = check_command_privilege(inv->config.remote.commands, current_privilege())) {
            std::fprintf(stderr, "corvid-agent: commands.run_as: %s\n", problem->c_str());
            return 2;
        }
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
