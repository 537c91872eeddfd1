// corvid-bench-logsub: N live subscribers of one server's logs socket, for bench/log_throughput.sh
// (started by bench/log_throughput.py, which talks to it over stdin/stdout). One thread, one
// io_context, the collector's own client code (common/ws_connection), so that reading 100 sockets
// costs far less CPU than the Python client and the collector, not the reader, is what is measured.
//
//   corvid-bench-logsub --url ws://127.0.0.1:PORT --server-id ID --token JWT --subscribers N
//                       --expected E [--level WARN] [--idle-s 10] [--deadline-s 400]
//
// 1. Opens N sockets on /api/v1/ws/logs/ID, authenticates each, subscribes with {"history":1}
//    (and the level) and waits until the stored probe line ("corvid-bench probe") comes back as
//    history: from then on the socket is live. Prints "ready N" on stdout.
// 2. Counts every live `log` frame whose message ends in " t=<unix µs> i=<n>" (the writer's lines)
//    and the counts of `dropped` frames; latency = receive time (system clock) − t.
// 3. A subscriber is done when received + dropped >= E. After a line "stored" on stdin, a
//    subscriber that has had nothing for --idle-s is done too. When all are done (or at
//    --deadline-s from the start, or stdin closes) the sockets are closed (1000, bounded by 2 s)
//    and one JSON object goes to stdout: per-subscriber counts, latency percentiles (1 ms
//    buckets), this process's CPU time and its time waiting for a CPU (schedstat).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

#include "common/deadline.hpp"
#include "common/json_text.hpp"
#include "common/ws_connection.hpp"
#include "proto/codec.hpp"

namespace {

using namespace corvid;
using sclock = std::chrono::steady_clock;

struct options {
    std::string url, server_id, token, level;
    std::size_t subscribers = 100;
    std::uint64_t expected = 0;
    std::chrono::seconds idle{10}, deadline{400};
};

// Latencies in 1 ms buckets (the last one collects everything from 10 minutes on).
class histogram {
public:
    void add(double ms)
    {
        const auto b = ms <= 0 ? 0 : static_cast<std::size_t>(ms);
        ++buckets_[std::min(b, buckets_.size() - 1)];
        ++count_;
        max_ = std::max(max_, ms);
    }
    std::uint64_t count() const { return count_; }
    double max() const { return max_; }
    // Nearest rank; the bucket's lower bound (ms).
    double percentile(double p) const
    {
        if (count_ == 0)
            return 0;
        const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(p * static_cast<double>(count_) + 0.999999));
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < buckets_.size(); ++i) {
            seen += buckets_[i];
            if (seen >= rank)
                return static_cast<double>(i);
        }
        return max_;
    }

private:
    std::vector<std::uint64_t> buckets_ = std::vector<std::uint64_t>(600'001);
    std::uint64_t count_ = 0;
    double max_ = 0;
};

struct subscriber_state {
    std::unique_ptr<ws_connection> conn;
    std::uint64_t received = 0, dropped = 0, dropped_msgs = 0, other = 0;
    sclock::time_point last_message = sclock::now();
    bool live = false, done = false;
    std::string ended; // why the socket ended early, if it did
};

class run {
public:
    run(net::io_context& io, options o) : io_(io), o_(std::move(o)), subs_(o_.subscribers), wake_(io), stdin_(io, ::dup(0)) {}

    net::awaitable<void> main();
    std::string report() const;

private:
    net::awaitable<void> open(std::size_t i);
    net::awaitable<void> receive(std::size_t i);
    net::awaitable<void> watch_stdin();
    void on_frame(subscriber_state& s, std::string_view text);
    bool all_done() const
    {
        for (const auto& s : subs_)
            if (!s.done)
                return false;
        return true;
    }
    void fail(const std::string& what)
    {
        if (errors_.size() < 20)
            errors_.push_back(what);
    }

    net::io_context& io_;
    options o_;
    std::vector<subscriber_state> subs_;
    net::steady_timer wake_;
    net::posix::stream_descriptor stdin_;
    std::size_t ready_ = 0, opened_ = 0;
    bool stored_ = false, stdin_closed_ = false;
    histogram latency_;
    std::vector<std::string> errors_;
    sclock::time_point start_ = sclock::now();
};

net::awaitable<void> run::open(std::size_t i)
{
    auto& s = subs_[i];
    auto url = parse_ws_url(o_.url + "/api/v1/ws/logs/" + o_.server_id);
    if (!url) {
        fail("bad --url");
        s.done = true;
        ++opened_;
        co_return;
    }
    ws_client_options copts;
    copts.user_agent = "corvid-bench-logsub";
    copts.timeouts.idle = std::chrono::seconds(60);
    const net::any_io_executor ex = io_.get_executor(); // named: README, "GCC 12 and coroutines"
    auto c = co_await ws_connect(ex, *url, copts);
    if (!c) {
        fail("connect: " + c.error().message());
        s.done = true;
        s.ended = "connect failed";
        ++opened_;
        co_return;
    }
    s.conn = std::move(*c);
    std::string sub = R"({"type":"subscribe","history":1)";
    if (!o_.level.empty())
        sub += fmt::format(R"(,"level":"{}")", o_.level);
    sub += '}';
    for (const std::string& frame : {proto::encode(proto::frontend_auth{o_.token}), sub}) {
        auto sent = co_await (s.conn->write(frame) || abort_after(*s.conn, std::chrono::seconds(20)));
        if (sent.index() != 0 || std::get<0>(sent)) {
            fail("write auth/subscribe");
            s.done = true;
            s.ended = "write failed";
            ++opened_;
            co_return;
        }
    }
    ++opened_;
    co_await receive(i);
}

// Reads until the socket ends. Before the probe has come back as history nothing is counted.
net::awaitable<void> run::receive(std::size_t i)
{
    auto& s = subs_[i];
    for (;;) {
        auto r = co_await s.conn->read();
        if (r.ec) {
            if (!s.done)
                s.ended = "read: " + r.ec.message();
            s.done = true;
            wake_.cancel();
            co_return;
        }
        if (!s.live) {
            if (r.text.starts_with(R"({"type":"auth_success")") || r.text.starts_with(R"({"type":"status")"))
                continue;
            if (r.text.starts_with(R"({"type":"log")") && r.text.find("corvid-bench probe") != std::string::npos) {
                s.live = true;
                if (++ready_ == subs_.size())
                    wake_.cancel();
                continue;
            }
            if (r.text.starts_with(R"({"type":"error")")) {
                fail("subscriber refused: " + r.text.substr(0, 200));
                s.done = true;
                s.ended = "error frame";
                s.conn->abort();
                wake_.cancel();
                co_return;
            }
            continue;
        }
        on_frame(s, r.text);
        if (!s.done && s.received + s.dropped >= o_.expected) {
            s.done = true;
            wake_.cancel();
        }
    }
}

void run::on_frame(subscriber_state& s, std::string_view text)
{
    const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    s.last_message = sclock::now();
    // The collector writes these prefixes byte for byte (golden files frontend_log.json, dropped.json).
    if (text.starts_with(R"({"type":"log")")) {
        const auto at = text.rfind(" t=");
        if (at == std::string_view::npos)
            return; // not a line of this run ("N lines dropped from ...")
        std::int64_t t_us = 0;
        const auto* first = text.data() + at + 3;
        if (std::from_chars(first, text.data() + text.size(), t_us).ec != std::errc())
            return;
        ++s.received;
        latency_.add(static_cast<double>(now_us - t_us) / 1000.0);
        return;
    }
    if (text.starts_with(R"({"type":"dropped")")) {
        const auto at = text.find(R"("count":)");
        std::uint64_t n = 0;
        if (at != std::string_view::npos)
            std::from_chars(text.data() + at + 8, text.data() + text.size(), n);
        s.dropped += n;
        ++s.dropped_msgs;
        return;
    }
    ++s.other;
}

net::awaitable<void> run::watch_stdin()
{
    std::string buf;
    for (;;) {
        auto [ec, n] = co_await net::async_read_until(stdin_, net::dynamic_buffer(buf), '\n', use_tuple);
        if (ec) {
            stdin_closed_ = true;
            wake_.cancel();
            co_return;
        }
        const std::string line = buf.substr(0, n);
        buf.erase(0, n);
        if (line.starts_with("stored")) {
            stored_ = true;
            wake_.cancel();
        }
    }
}

net::awaitable<void> run::main()
{
    net::co_spawn(io_, watch_stdin(), net::detached);
    // Connect in groups of 20 handshakes at a time.
    for (std::size_t i = 0; i < subs_.size(); ++i) {
        while (i - opened_ >= 20 && sclock::now() - start_ < o_.deadline) {
            wake_.expires_after(std::chrono::milliseconds(5));
            co_await wake_.async_wait(use_tuple);
        }
        net::co_spawn(io_, open(i), net::detached);
    }
    const auto deadline = start_ + o_.deadline;
    while (ready_ < subs_.size() && !all_done() && sclock::now() < deadline && !stdin_closed_) {
        wake_.expires_after(std::chrono::milliseconds(200));
        co_await wake_.async_wait(use_tuple);
    }
    std::printf("ready %zu\n", ready_);
    std::fflush(stdout);
    while (!all_done() && sclock::now() < deadline && !stdin_closed_) {
        if (stored_) {
            const auto now = sclock::now();
            for (auto& s : subs_)
                if (!s.done && now - s.last_message > o_.idle)
                    s.done = true;
        }
        wake_.expires_after(std::chrono::milliseconds(200));
        co_await wake_.async_wait(use_tuple);
    }
    for (auto& s : subs_)
        if (s.conn)
            net::co_spawn(
                io_,
                [&s]() -> net::awaitable<void> {
                    co_await (s.conn->close(close_code::normal, "benchmark finished")
                              || abort_after(*s.conn, std::chrono::seconds(2)));
                    s.conn->abort();
                },
                net::detached);
    stdin_.close();
}

double self_runq_wait_s()
{
    double total = 0;
    if (DIR* d = ::opendir("/proc/self/task")) {
        while (auto* e = ::readdir(d)) {
            if (e->d_name[0] == '.')
                continue;
            std::ifstream f(std::string("/proc/self/task/") + e->d_name + "/schedstat");
            unsigned long long run_ns = 0, wait_ns = 0;
            if (f >> run_ns >> wait_ns)
                total += static_cast<double>(wait_ns) / 1e9;
        }
        ::closedir(d);
    }
    return total;
}

std::string run::report() const
{
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
                       + static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    std::string out = fmt::format(
        R"({{"ready":{},"cpu_s":{:.2f},"runq_wait_s":{:.2f},"latency_ms":{{"count":{},"p50":{},"p90":{},"p99":{},"max":{:.1f}}},"subscribers":[)",
        ready_, cpu, self_runq_wait_s(), latency_.count(), latency_.percentile(0.5), latency_.percentile(0.9),
        latency_.percentile(0.99), latency_.max());
    for (std::size_t i = 0; i < subs_.size(); ++i) {
        const auto& s = subs_[i];
        out += fmt::format(R"({}{{"received":{},"dropped":{},"dropped_msgs":{},"other":{},"ended":)", i ? "," : "",
                           s.received, s.dropped, s.dropped_msgs, s.other);
        append_json_string(out, s.ended);
        out += '}';
    }
    out += R"(],"errors":[)";
    for (std::size_t i = 0; i < errors_.size(); ++i) {
        if (i)
            out += ',';
        append_json_string(out, errors_[i]);
    }
    out += "]}";
    return out;
}

} // namespace

int main(int argc, char** argv)
{
    options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view k = argv[i];
        const char* v = argv[i + 1];
        if (k == "--url")
            o.url = v;
        else if (k == "--server-id")
            o.server_id = v;
        else if (k == "--token")
            o.token = v;
        else if (k == "--level")
            o.level = v;
        else if (k == "--subscribers")
            o.subscribers = std::strtoull(v, nullptr, 10);
        else if (k == "--expected")
            o.expected = std::strtoull(v, nullptr, 10);
        else if (k == "--idle-s")
            o.idle = std::chrono::seconds(std::atoi(v));
        else if (k == "--deadline-s")
            o.deadline = std::chrono::seconds(std::atoi(v));
        else {
            std::fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (o.url.empty() || o.server_id.empty() || o.token.empty() || o.subscribers == 0) {
        std::fprintf(stderr, "usage: see the header of bench/log_subscribers.cpp\n");
        return 2;
    }
    net::io_context io{1};
    run r(io, o);
    net::co_spawn(io, r.main(), net::detached);
    io.run();
    std::printf("%s\n", r.report().c_str());
    return 0;
}
