// corvid-loadgen: N simulated agents and M frontend subscribers against a running collector, on
// one or more client threads. Phases: subscribers connect, agents connect (at most
// --max-connecting handshakes in flight), --warmup, then the measured window of --duration
// seconds, then every socket is closed with 1000 (bounded). Progress goes to stderr, one line
// each at "measuring" and "measure end" so a script can sample the collector in that window;
// the summary goes to stdout (text, or one JSON object with --json).
//   corvid-loadgen --url ws://127.0.0.1:PORT --keys FILE --agents N
//                  [--interval-ms 5000 | --flood --window K] --duration S [--warmup S]
//                  [--subscribers M --subscribe-servers K --user U --password P [--http URL]]
//                  [--threads T] [--max-connecting C] [--ramp-timeout S] [--json]
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sys/resource.h>

#include "bench/loadgen.hpp"
#include "common/deadline.hpp"
#include "common/time_format.hpp"

namespace corvid::bench {

worker::worker(shared_run& r, std::size_t max_connecting)
    : run(r), max_connecting_(max_connecting == 0 ? 1 : max_connecting), slot_free_(io)
{
    guard_.emplace(io.get_executor());
}

void worker::start_thread()
{
    thread_ = std::thread([this] {
        io.run();
        finished_ = true;
    });
}

void worker::launch(std::vector<std::shared_ptr<session>> sessions)
{
    net::post(io, [this, sessions = std::move(sessions)]() mutable {
        net::co_spawn(io, launch_all(std::move(sessions)), net::detached);
    });
}

net::awaitable<void> worker::launch_all(std::vector<std::shared_ptr<session>> sessions)
{
    for (auto& s : sessions) {
        while (connecting_ >= max_connecting_ && !stopping_)
            co_await wait_for_wake(slot_free_);
        if (stopping_)
            co_return;
        ++connecting_;
        sessions_.push_back(s);
        net::co_spawn(io, [s]() -> net::awaitable<void> { co_await s->run(); }, net::detached);
    }
}

void worker::connect_done()
{
    --connecting_;
    slot_free_.cancel();
}

void worker::stop()
{
    net::post(io, [this] {
        stopping_ = true;
        slot_free_.cancel();
        for (auto& s : sessions_)
            s->stop();
        guard_.reset();
    });
}

bool worker::join(std::chrono::steady_clock::duration limit)
{
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!finished_ && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const bool clean = finished_;
    if (!clean)
        io.stop();
    thread_.join();
    return clean;
}

} // namespace corvid::bench

namespace {
using namespace corvid;
using namespace corvid::bench;

[[noreturn]] void usage(const char* why)
{
    std::fprintf(stderr,
                 "corvid-loadgen: %s\n"
                 "usage: corvid-loadgen --url ws://HOST:PORT --keys FILE --agents N\n"
                 "         [--interval-ms MS | --flood [--window K]] --duration S [--warmup S]\n"
                 "         [--subscribers M --subscribe-servers K --user U --password P [--http http://HOST:PORT]]\n"
                 "         [--threads T] [--max-connecting C] [--ramp-timeout S] [--json]\n",
                 why);
    std::exit(2);
}

loadgen_options parse(int argc, char** argv)
{
    loadgen_options o;
    const auto number = [](const char* v, const char* name) {
        char* end = nullptr;
        const auto n = std::strtoll(v, &end, 10);
        if (!end || *end != '\0' || n < 0)
            usage((std::string(name) + " needs a non-negative integer").c_str());
        return static_cast<std::size_t>(n);
    };
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--flood") {
            o.flood = true;
            continue;
        }
        if (arg == "--json") {
            o.json = true;
            continue;
        }
        if (i + 1 >= argc)
            usage("missing value");
        const char* v = argv[++i];
        if (arg == "--url")
            o.url = v;
        else if (arg == "--keys")
            o.keys_file = v;
        else if (arg == "--agents")
            o.agents = number(v, "--agents");
        else if (arg == "--interval-ms")
            o.interval = std::chrono::milliseconds(number(v, "--interval-ms"));
        else if (arg == "--window")
            o.window = number(v, "--window");
        else if (arg == "--duration")
            o.duration = std::chrono::seconds(number(v, "--duration"));
        else if (arg == "--warmup")
            o.warmup = std::chrono::seconds(number(v, "--warmup"));
        else if (arg == "--subscribers")
            o.subscribers = number(v, "--subscribers");
        else if (arg == "--subscribe-servers")
            o.subscribe_servers = number(v, "--subscribe-servers");
        else if (arg == "--user")
            o.user = v;
        else if (arg == "--password")
            o.password = v;
        else if (arg == "--http")
            o.http_url = v;
        else if (arg == "--threads")
            o.threads = static_cast<unsigned>(number(v, "--threads"));
        else if (arg == "--max-connecting")
            o.max_connecting = number(v, "--max-connecting");
        else if (arg == "--ramp-timeout")
            o.ramp_timeout = std::chrono::seconds(number(v, "--ramp-timeout"));
        else
            usage(("unknown option " + std::string(arg)).c_str());
    }
    while (o.url.ends_with('/'))
        o.url.pop_back();
    if (o.url.empty() || o.keys_file.empty() || o.agents == 0)
        usage("--url, --keys and --agents are required");
    if (o.interval.count() < 1 || o.window < 1 || o.threads < 1 || o.duration.count() < 1)
        usage("--interval-ms, --window, --threads and --duration must be at least 1");
    if (o.subscribers > 0) {
        if (o.subscribe_servers < 1 || o.subscribe_servers > o.agents)
            usage("--subscribe-servers must be between 1 and --agents");
        if (o.user.empty() || o.password.empty())
            usage("--subscribers needs --user and --password");
        if (o.http_url.empty())
            o.http_url = "http" + o.url.substr(o.url.find(':'));
    }
    return o;
}

std::vector<server_key> read_keys(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
        usage(("cannot read " + path).c_str());
    std::vector<server_key> keys;
    std::string line;
    while (std::getline(in, line)) {
        const auto tab = line.find('\t');
        if (tab == std::string::npos)
            continue;
        keys.push_back({line.substr(0, tab), line.substr(tab + 1)});
    }
    return keys;
}

double cpu_seconds()
{
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
           + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

// Waits until done() or the deadline; false on timeout.
template <class F> bool wait_until(F done, std::chrono::seconds limit)
{
    const auto until = clock_type::now() + limit;
    while (!done()) {
        if (clock_type::now() >= until)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
}

std::uint64_t get(const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); }

std::string json_escape_min(const std::string& s)
{
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += '\\';
        if (static_cast<unsigned char>(c) >= 0x20)
            out += c;
    }
    return out;
}
} // namespace

int main(int argc, char** argv)
{
    shared_run run;
    run.options = parse(argc, argv);
    const auto& o = run.options;
    run.servers = read_keys(o.keys_file);
    if (run.servers.size() < o.agents)
        usage(("the keys file has only " + std::to_string(run.servers.size()) + " servers").c_str());
    auto agent_url = parse_ws_url(o.url + "/api/v1/agents/ws");
    auto frontend_url = parse_ws_url(o.url + "/api/v1/ws/metrics/");
    if (!agent_url || !frontend_url)
        usage("--url must be ws://host:port");
    run.agent_url = *agent_url;
    run.frontend_url = *frontend_url;
    run.t0 = clock_type::now();
    run.wall0_ms = now_unix_ms();

    if (o.subscribers > 0) {
        std::string error;
        auto token = login(o.http_url, o.user, o.password, error);
        if (!token) {
            std::fprintf(stderr, "corvid-loadgen: login failed: %s\n", error.c_str());
            return 1;
        }
        run.token = std::move(*token);
    }

    std::vector<std::unique_ptr<worker>> workers;
    for (unsigned t = 0; t < o.threads; ++t) {
        workers.push_back(std::make_unique<worker>(run, (o.max_connecting + o.threads - 1) / o.threads));
        workers.back()->start_thread();
    }
    const auto mode = o.flood ? "flood, window " + std::to_string(o.window)
                              : "interval " + std::to_string(o.interval.count()) + " ms";
    std::fprintf(stderr, "loadgen: %u client thread(s), %zu agents (%s), %zu subscribers over %zu servers\n", o.threads,
                 o.agents, mode.c_str(), o.subscribers, o.subscribers ? o.subscribe_servers : 0);

    // Subscribers first, so they are listening before the first sample is sent.
    const auto ramp_start = clock_type::now();
    if (o.subscribers > 0) {
        std::vector<std::vector<std::shared_ptr<session>>> lists(workers.size());
        for (std::size_t j = 0; j < o.subscribers; ++j)
            lists[j % workers.size()].push_back(
                make_subscriber(*workers[j % workers.size()], static_cast<std::uint32_t>(j % o.subscribe_servers)));
        for (std::size_t t = 0; t < workers.size(); ++t)
            workers[t]->launch(std::move(lists[t]));
        if (!wait_until([&] { return get(run.count.subs_connected) + get(run.count.subs_failed) >= o.subscribers; },
                        o.ramp_timeout))
            std::fprintf(stderr, "loadgen: subscriber ramp timed out\n");
    }
    {
        std::vector<std::vector<std::shared_ptr<session>>> lists(workers.size());
        for (std::size_t i = 0; i < o.agents; ++i) {
            auto& w = *workers[i % workers.size()];
            lists[i % workers.size()].push_back(make_agent(w, static_cast<std::uint32_t>(i)));
        }
        for (std::size_t t = 0; t < workers.size(); ++t)
            workers[t]->launch(std::move(lists[t]));
        if (!wait_until([&] { return get(run.count.agents_connected) + get(run.count.agents_failed) >= o.agents; },
                        o.ramp_timeout))
            std::fprintf(stderr, "loadgen: agent ramp timed out\n");
    }
    const double ramp_s = since(ramp_start);
    std::fprintf(stderr,
                 "loadgen: ramp done in %.1f s: %ju agents connected, %ju failed; %ju subscribers connected, "
                 "%ju failed\n",
                 ramp_s, get(run.count.agents_connected), get(run.count.agents_failed), get(run.count.subs_connected),
                 get(run.count.subs_failed));
    std::this_thread::sleep_for(o.warmup);

    // The measured window.
    const auto acked0 = get(run.count.samples_acked), sent0 = get(run.count.samples_sent);
    const auto delivered0 = get(run.count.delivered);
    const double cpu0 = cpu_seconds();
    const auto window_start = clock_type::now();
    run.measuring = true;
    std::fprintf(stderr, "loadgen: measuring for %lld s\n", static_cast<long long>(o.duration.count()));
    auto last_acked = acked0;
    auto last_report = window_start;
    while (clock_type::now() < window_start + o.duration) {
        std::this_thread::sleep_for(std::min<clock_type::duration>(std::chrono::milliseconds(200),
                                                                   window_start + o.duration - clock_type::now()));
        if (clock_type::now() - last_report >= std::chrono::seconds(10)) {
            const auto acked = get(run.count.samples_acked);
            std::fprintf(stderr, "loadgen: %.0f s: %.0f acked/s, %ju agents lost, %ju delivered\n", since(window_start),
                         static_cast<double>(acked - last_acked) / since(last_report), get(run.count.agents_lost),
                         get(run.count.delivered));
            last_acked = acked;
            last_report = clock_type::now();
        }
    }
    run.measuring = false;
    const double window_s = since(window_start);
    const double cpu_window = cpu_seconds() - cpu0;
    const auto acked1 = get(run.count.samples_acked), sent1 = get(run.count.samples_sent);
    const auto delivered1 = get(run.count.delivered);
    std::fprintf(stderr, "loadgen: measure end\n");

    for (auto& w : workers)
        w->stop();
    bool clean = true;
    for (auto& w : workers)
        clean = w->join(std::chrono::seconds(20)) && clean;
    if (!clean)
        std::fprintf(stderr, "loadgen: some connections did not close within 20 s and were dropped\n");

    latency_recorder ack, delivery;
    for (auto& w : workers) {
        ack.merge(w->ack_latency);
        delivery.merge(w->delivery_latency);
    }
    const auto a = ack.summarize();
    const auto d = delivery.summarize();
    const double acked_per_s = static_cast<double>(acked1 - acked0) / window_s;
    const double sent_per_s = static_cast<double>(sent1 - sent0) / window_s;
    const double cpu_pct = 100.0 * cpu_window / window_s;
    const auto errors = run.errors();

    if (o.json) {
        std::string errs;
        for (const auto& [what, n] : errors)
            errs += (errs.empty() ? "" : ",") + std::string("\"") + json_escape_min(what) + "\":" + std::to_string(n);
        std::printf(
            "{\"threads\":%u,\"mode\":\"%s\",\"agents\":%zu,\"interval_ms\":%lld,\"window\":%zu,\"ramp_s\":%.1f,"
            "\"measured_s\":%.1f,\"agents_connected\":%ju,\"agents_failed\":%ju,\"agents_lost\":%ju,"
            "\"samples_sent\":%ju,\"samples_acked\":%ju,\"acked_per_s\":%.1f,\"sent_per_s\":%.1f,\"late_ticks\":%ju,"
            "\"ack_latency_ms\":{\"count\":%zu,\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f,\"mean\":%.3f},"
            "\"subscribers\":%zu,\"subscribers_connected\":%ju,\"subscribers_failed\":%ju,\"subscribers_lost\":%ju,"
            "\"delivered\":%ju,\"delivered_in_window\":%ju,\"delivered_unmatched\":%ju,\"snapshots\":%ju,"
            "\"delivery_latency_ms\":{\"count\":%zu,\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f,\"mean\":%.3f},"
            "\"loadgen_cpu_percent\":%.1f,\"clean_close\":%s,\"errors\":{%s}}\n",
            o.threads, o.flood ? "flood" : "interval", o.agents, static_cast<long long>(o.interval.count()), o.window,
            ramp_s, window_s, get(run.count.agents_connected), get(run.count.agents_failed), get(run.count.agents_lost),
            get(run.count.samples_sent), get(run.count.samples_acked), acked_per_s, sent_per_s,
            get(run.count.late_ticks), a.count, a.p50_ms, a.p99_ms, a.max_ms, a.mean_ms, o.subscribers,
            get(run.count.subs_connected), get(run.count.subs_failed), get(run.count.subs_lost),
            get(run.count.delivered), delivered1 - delivered0, get(run.count.delivered_unmatched),
            get(run.count.snapshots), d.count, d.p50_ms, d.p99_ms, d.max_ms, d.mean_ms, cpu_pct,
            clean ? "true" : "false", errs.c_str());
    } else {
        std::printf("corvid-loadgen: %u client thread(s); %zu agents (%s); measured %.1f s after a %.1f s ramp\n",
                    o.threads, o.agents, mode.c_str(), window_s, ramp_s);
        std::printf("  agents       connected %ju, failed %ju, lost during the run %ju\n",
                    get(run.count.agents_connected), get(run.count.agents_failed), get(run.count.agents_lost));
        std::printf("  samples      sent %ju, acked %ju (whole run); in the window %.1f sent/s, %.1f acked/s%s\n",
                    get(run.count.samples_sent), get(run.count.samples_acked), sent_per_s, acked_per_s,
                    get(run.count.late_ticks) ? " (some sends were late: the load generator fell behind)" : "");
        std::printf("  ack latency  p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu samples)\n", a.p50_ms, a.p99_ms,
                    a.max_ms, a.count);
        if (o.subscribers > 0) {
            std::printf("  subscribers  %zu over %zu servers: connected %ju, failed %ju, lost %ju\n", o.subscribers,
                        o.subscribe_servers, get(run.count.subs_connected), get(run.count.subs_failed),
                        get(run.count.subs_lost));
            std::printf("  delivered    %ju messages (%ju in the window), %ju unmatched, %ju snapshots ignored\n",
                        get(run.count.delivered), delivered1 - delivered0, get(run.count.delivered_unmatched),
                        get(run.count.snapshots));
            std::printf("  delivery     p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu messages)\n", d.p50_ms, d.p99_ms,
                        d.max_ms, d.count);
        }
        std::printf("  loadgen CPU  %.1f%% of one core in the window\n", cpu_pct);
        for (const auto& [what, n] : errors)
            std::printf("  error        %ju x %s\n", n, what.c_str());
    }
    return 0;
}
