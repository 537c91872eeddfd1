// corvid-collector: receives agents' samples, stores them, serves the REST API and live sockets.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <sys/resource.h>
#include <sys/stat.h>

#include "collector/auth/jwt.hpp"
#include "collector/cli.hpp"
#include "collector/data_dir.hpp"
#include "collector/http/http_server.hpp"
#include "collector/retention.hpp"
#include "common/deadline.hpp"
#include "common/log.hpp"
#include "common/random.hpp"
#include "common/service_notify.hpp"
#include "common/time_format.hpp"
#include "common/tls_context.hpp"

namespace {
using namespace corvid;
using namespace corvid::collector;

// "host:port" or "[v6]:port" → host, port (validated by the config loader already).
std::pair<std::string, std::string> split_listen(const std::string& listen)
{
    const auto colon = listen.rfind(':');
    std::string host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    return {host, listen.substr(colon + 1)};
}

// Every agent and frontend holds a descriptor; the common soft default of 1,024 is far below what
// a collector serves. Raise the soft limit to the hard one (the unit or the shell sets that).
void raise_descriptor_limit()
{
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &lim) != 0)
            log::warn("could not raise the open-files limit");
    }
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0)
        log::info("open-files limit: {}", static_cast<unsigned long long>(lim.rlim_cur));
}

void log_tls_identity(std::string_view what, const collector_config& cfg, const tls_server_identity& id)
{
    log::notice("{} {}: subject {}, expires {}, SHA-256 {}", what, cfg.tls_cert, id.subject, id.not_after, id.sha256);
    if (id.expired)
        log::warn("the TLS certificate {} expired on {}; agents will refuse it", cfg.tls_cert, id.not_after);
}

// SIGHUP re-reads tls_cert and tls_key. New connections get the new certificate; open ones keep
// theirs. A reload that fails keeps the old certificate. Reading two small files blocks the io
// thread for a moment, once per signal.
net::awaitable<void> reload_on_sighup(net::signal_set& hup, http_server& server, const collector_config& cfg)
{
    for (;;) {
        auto [ec, sig] = co_await hup.async_wait(use_tuple);
        (void)sig;
        if (ec)
            co_return;
        if (cfg.tls_cert.empty()) {
            log::info("SIGHUP: TLS is not configured, nothing to reload");
            continue;
        }
        auto id = load_tls_server_identity(cfg.tls_cert, cfg.tls_key);
        if (!id) {
            log::error("TLS reload failed: {}; still serving the previous certificate", id.error());
            continue;
        }
        server.set_tls(id->context);
        log_tls_identity("TLS certificate reloaded from", cfg, *id);
    }
}

int serve(const collector_config& cfg)
{
    raise_descriptor_limit();
    auto writer = open_database(cfg, true);
    if (!writer) {
        log::error("cannot open the database {}: {}", database_path(cfg), writer.error().message());
        return 1;
    }
    auto secret = load_or_create_secret(token_secret_path(cfg));
    if (!secret) {
        log::error("cannot load the token secret {}: {}", token_secret_path(cfg), secret.error().message());
        return 1;
    }
    auto command_keys = load_command_keys(cfg);
    if (!command_keys) {
        log::error("cannot load the command signing key {}: {}", command_key_path(cfg), command_keys.error().message());
        return 1;
    }
    // Commands in flight when the collector last stopped can no longer report here: they are lost.
    if (auto lost = (*writer)->mark_unfinished_commands_lost(now_unix_ms()); lost && *lost > 0)
        log::warn("{} commands were in flight when the collector stopped; marked lost", *lost);

    net::io_context io(1);
    store db(io.get_executor(), std::move(*writer), [cfg] { return open_database(cfg, false); },
             store::queue_limits{cfg.write_queue_samples, cfg.write_queue_mb * 1024 * 1024});
    login_attempts::options limits;
    limits.max_per_user = static_cast<std::size_t>(cfg.login_max_failures);
    limits.max_per_address = static_cast<std::size_t>(cfg.login_max_failures_per_address);
    limits.window = std::chrono::seconds(cfg.login_window_s);
    app a{io.get_executor(), cfg, db, {}, {}, login_attempts(limits), std::move(*secret), false, {},
          std::move(*command_keys)};

    http_server server(a);
    if (!cfg.tls_cert.empty()) {
        auto id = load_tls_server_identity(cfg.tls_cert, cfg.tls_key);
        if (!id) {
            log::error("cannot set up TLS: {}", id.error());
            return 1;
        }
        server.set_tls(id->context);
        log_tls_identity("TLS certificate loaded from", cfg, *id);
    }
    const auto [host, port] = split_listen(cfg.listen);
    auto bound = server.listen(host, port);
    if (!bound) {
        log::error("cannot listen on {}: {}", cfg.listen, bound.error().message());
        return 1;
    }
    server.start();
    net::co_spawn(io, retention_loop(a), net::detached);
    net::co_spawn(io, log_retention_loop(a), net::detached);
    net::co_spawn(io, watchdog_loop(), net::detached);
    net::co_spawn(io, a.identities.run(), net::detached);
    net::signal_set hup(io, SIGHUP);
    net::co_spawn(io, reload_on_sighup(hup, server, cfg), net::detached);

    net::signal_set signals(io, SIGTERM, SIGINT);
    signals.async_wait([&](boost::system::error_code ec, int sig) {
        if (ec)
            return;
        log::info("signal {} received: closing connections", sig);
        notify_stopping();
        a.shutting_down = true;
        a.identities.stop();
        server.stop();
        // Sessions close politely (1001) and idle connections end; the io loop stops as soon as
        // every connection is gone, or after 3 s at the latest, leaving time within the 5 s budget
        // to commit the queued samples.
        net::co_spawn(io, a.connections.stop(std::chrono::seconds(3)), [&io](std::exception_ptr) { io.stop(); });
    });

    const auto url = fmt::format("{}://{}:{}", server.tls() ? "https" : "http", bound->address().to_string(),
                                 bound->port());
    // One line on stdout, for scripts and tests that start the collector on port 0.
    std::printf("corvid-collector listening on %s\n", url.c_str());
    std::fflush(stdout);
    log::info("corvid-collector {} listening on {}, data in {}", CORVID_VERSION, url, cfg.data_dir);
    notify_ready("listening on " + url);

    io.run();
    db.stop(); // commits everything still queued
    log::info("corvid-collector stopped");
    return 0;
}
} // namespace

int main(int argc, char** argv)
{
    // The database holds password and key hashes, logs and command output: files we create are
    // the service user's alone (issue 12.10); SQLite gives its -wal and -shm the database's mode.
    ::umask(077);
    auto inv = load_collector_invocation(argc, argv);
    if (!inv) {
        std::fprintf(stderr, "corvid-collector: %s: %s\n", inv.error().key.c_str(), inv.error().message.c_str());
        return 2;
    }
    if (inv->command == command_kind::help) {
        std::printf("%s", collector_usage().c_str());
        return 0;
    }
    if (inv->command == command_kind::version) {
        std::printf("corvid-collector %s\n", CORVID_VERSION);
        return 0;
    }
    log::level lvl;
    if (log::parse_level(inv->config.log_level, lvl))
        log::set_min_level(lvl);
    for (const auto& w : inv->warnings)
        log::warn("{}", w);
    try {
        init_crypto();
        switch (inv->command) {
        case command_kind::user_add: return run_user_add(*inv);
        case command_kind::user_list: return run_user_list(*inv);
        case command_kind::user_delete:
        case command_kind::user_disable:
        case command_kind::user_enable:
        case command_kind::user_passwd:
        case command_kind::user_role: return run_user_change(*inv);
        case command_kind::server_add: return run_server_add(*inv);
        default: return serve(inv->config);
        }
    } catch (const std::exception& e) {
        log::error("fatal: {}", e.what());
        return 1;
    }
}
