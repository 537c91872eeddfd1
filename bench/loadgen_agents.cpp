// Simulated agents of corvid-loadgen: the real agent's wire behaviour (auth, numbered metrics
// frames, cumulative acks) without sampling. Interval mode sends one sample per interval on a
// fixed schedule, the agents' phases spread evenly over the interval; flood mode keeps `window`
// samples unacked and sends the next as soon as an ack arrives. Each sample's send time is kept
// until its ack, for the ack latency; samples of watched servers also go to the send log.
// io thread of the owning worker only.
#include <boost/asio/co_spawn.hpp>
#include <deque>
#include <utility>

#include "bench/loadgen.hpp"
#include "bench/sample.hpp"
#include "common/deadline.hpp"
#include "proto/codec.hpp"

namespace corvid::bench {
namespace {
constexpr auto auth_deadline = std::chrono::seconds(10);
constexpr auto write_deadline = std::chrono::seconds(10);
constexpr auto drain_deadline = std::chrono::seconds(5); // at stop: wait this long for the last acks
constexpr auto close_deadline = std::chrono::seconds(5);

class agent final : public session, public std::enable_shared_from_this<agent> {
public:
    agent(worker& w, std::uint32_t index)
        : w_(w), run_(w.run), index_(index),
          watched_(w.run.options.subscribers > 0 && index < w.run.options.subscribe_servers), wake_(w.io), tick_(w.io)
    {
    }

    net::awaitable<void> run() override;
    void stop() override
    {
        stopping_ = true;
        wake_.cancel();
        tick_.cancel();
    }

private:
    net::awaitable<bool> connect();
    net::awaitable<void> read_loop();
    net::awaitable<void> flood_loop();
    net::awaitable<void> interval_loop();
    net::awaitable<bool> send_sample(std::int64_t timestamp_ms);
    net::awaitable<void> finish();
    void fail(std::string_view what, const std::string& detail);
    void lost(const std::string& what); // the link ended before stop(): counted once per agent

    worker& w_;
    shared_run& run_;
    const std::uint32_t index_;
    const bool watched_;
    std::unique_ptr<ws_connection> conn_;
    net::steady_timer wake_; // the send loop waits here for acks (flood) or the drain
    net::steady_timer tick_; // interval schedule
    std::deque<std::pair<std::uint64_t, clock_type::time_point>> in_flight_; // seq, sent at
    std::uint64_t next_seq_ = 1;
    bool stopping_ = false;
    bool lost_ = false;
};

void agent::fail(std::string_view what, const std::string& detail)
{
    run_.count.agents_failed.fetch_add(1, std::memory_order_relaxed);
    run_.note_error(std::string(what) + ": " + detail);
    if (conn_)
        conn_->abort();
}

void agent::lost(const std::string& what)
{
    if (!stopping_ && !lost_) {
        lost_ = true;
        run_.count.agents_lost.fetch_add(1, std::memory_order_relaxed);
        run_.note_error(what);
    }
    conn_->abort();
}

net::awaitable<bool> agent::connect()
{
    ws_client_options options;
    options.user_agent = "corvid-loadgen";
    // Named, not a temporary in the co_await: see "GCC 12 and coroutines" in README.md.
    const net::any_io_executor ex = w_.io.get_executor();
    auto c = co_await ws_connect(ex, run_.agent_url, options);
    if (!c) {
        fail("agent connect", c.error().message());
        co_return false;
    }
    conn_ = std::move(*c);
    const auto& server = run_.servers[index_];
    const std::string hello = proto::encode(
        proto::auth_request{server.key, "0.1.0-loadgen", "loadgen-" + std::to_string(index_), std::nullopt});
    auto sent = co_await (conn_->write(hello) || abort_after(*conn_, write_deadline));
    if (sent.index() != 0 || std::get<0>(sent)) {
        fail("agent auth write", sent.index() == 0 ? std::get<0>(sent).message() : "timed out");
        co_return false;
    }
    auto got = co_await (conn_->read() || abort_after(*conn_, auth_deadline));
    if (got.index() != 0 || std::get<0>(got).ec) {
        fail("agent auth reply", got.index() == 0 ? std::get<0>(got).ec.message() : "timed out");
        co_return false;
    }
    auto msg = proto::decode_from_collector(std::get<0>(got).text);
    if (!msg || !std::holds_alternative<proto::auth_success>(*msg)) {
        fail("agent auth refused", std::get<0>(got).text.substr(0, 120));
        co_return false;
    }
    co_return true;
}

net::awaitable<void> agent::run()
{
    auto self = shared_from_this();
    const bool ok = co_await connect();
    w_.connect_done();
    if (!ok)
        co_return;
    run_.count.agents_connected.fetch_add(1, std::memory_order_relaxed);
    if (run_.options.flood)
        co_await (read_loop() || flood_loop());
    else
        co_await (read_loop() || interval_loop());
    conn_->abort();
}

net::awaitable<bool> agent::send_sample(std::int64_t timestamp_ms)
{
    proto::metrics m;
    m.server_id = run_.servers[index_].id;
    m.seq = next_seq_++;
    m.data = realistic_sample(timestamp_ms, m.seq + index_);
    const std::string frame = proto::encode(m);
    const auto sent_at = clock_type::now();
    // Recorded before the write: the ack may be read before this coroutine resumes.
    in_flight_.emplace_back(m.seq, sent_at);
    if (watched_)
        run_.sends.record(index_, timestamp_ms, sent_at);
    auto sent = co_await (conn_->write(frame) || abort_after(*conn_, write_deadline));
    if (sent.index() != 0 || std::get<0>(sent)) {
        lost("agent write: " + (sent.index() == 0 ? std::get<0>(sent).message() : std::string("timed out")));
        co_return false;
    }
    run_.count.samples_sent.fetch_add(1, std::memory_order_relaxed);
    co_return true;
}

net::awaitable<void> agent::read_loop()
{
    for (;;) {
        auto r = co_await conn_->read();
        if (r.ec) {
            lost("agent link lost: " + r.ec.message());
            co_return;
        }
        auto msg = proto::decode_from_collector(r.text);
        if (!msg) {
            run_.count.agent_errors.fetch_add(1, std::memory_order_relaxed);
            run_.note_error("agent received undecodable frame: " + msg.error().message);
            continue;
        }
        if (auto* a = std::get_if<proto::ack>(&*msg)) {
            const auto now = clock_type::now();
            const bool measuring = run_.measuring.load(std::memory_order_relaxed);
            std::uint64_t n = 0;
            while (!in_flight_.empty() && in_flight_.front().first <= a->seq) {
                if (measuring)
                    w_.ack_latency.add(now - in_flight_.front().second);
                in_flight_.pop_front();
                ++n;
            }
            run_.count.samples_acked.fetch_add(n, std::memory_order_relaxed);
            wake_.cancel();
        } else if (auto* e = std::get_if<proto::error>(&*msg)) {
            run_.count.agent_errors.fetch_add(1, std::memory_order_relaxed);
            run_.note_error("collector error to agent: " + e->code + ": " + e->message.substr(0, 80));
        }
    }
}

net::awaitable<void> agent::flood_loop()
{
    for (;;) {
        if (stopping_)
            break;
        if (in_flight_.size() >= run_.options.window) {
            co_await wait_for_wake(wake_);
            continue;
        }
        // Unique per server and increasing; stays behind the wall clock at any realistic rate.
        const std::int64_t ts = run_.wall0_ms + static_cast<std::int64_t>(next_seq_);
        const bool ok = co_await send_sample(ts);
        if (!ok)
            co_return;
    }
    co_await finish();
}

net::awaitable<void> agent::interval_loop()
{
    using std::chrono::microseconds;
    const auto interval = std::chrono::duration_cast<microseconds>(run_.options.interval);
    const auto phase = microseconds(interval.count() * static_cast<std::int64_t>(index_)
                                    / static_cast<std::int64_t>(run_.options.agents));
    // The first slot of this agent's schedule that is not in the past.
    const auto since = std::chrono::duration_cast<microseconds>(clock_type::now() - run_.t0) - phase;
    std::int64_t k = since.count() <= 0 ? 0 : (since.count() + interval.count() - 1) / interval.count();
    for (;;) {
        if (stopping_)
            break;
        const auto offset = phase + interval * k;
        const auto due = run_.t0 + offset;
        tick_.expires_at(due);
        co_await tick_.async_wait(use_tuple);
        if (stopping_)
            break;
        if (clock_type::now() - due > run_.options.interval)
            run_.count.late_ticks.fetch_add(1, std::memory_order_relaxed);
        const std::int64_t ts = run_.wall0_ms + std::chrono::duration_cast<std::chrono::milliseconds>(offset).count();
        const bool ok = co_await send_sample(ts);
        if (!ok)
            co_return;
        ++k;
    }
    co_await finish();
}

// Stopping: wait (bounded) for the acks still due, then close with 1000. The read loop keeps
// running meanwhile and ends when the collector answers the close.
net::awaitable<void> agent::finish()
{
    const auto until = clock_type::now() + drain_deadline;
    while (!in_flight_.empty() && clock_type::now() < until) {
        wake_.expires_at(until);
        co_await wake_.async_wait(use_tuple);
    }
    co_await (conn_->close(close_code::normal, "load test finished") || abort_after(*conn_, close_deadline));
    conn_->abort();
}
} // namespace

std::shared_ptr<session> make_agent(worker& w, std::uint32_t server_index)
{
    return std::make_shared<agent>(w, server_index);
}

} // namespace corvid::bench
