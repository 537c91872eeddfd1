#pragma once
// corvid-loadgen's parts: simulated agents (loadgen_agents.cpp) and frontend subscribers
// (loadgen_frontends.cpp) run as coroutines on one or more worker threads (loadgen.cpp), each
// worker with its own io_context. A session belongs to one worker and only that worker's thread
// touches it. What threads share is in `shared_run`: counters are relaxed atomics, the send log
// and the error tally take a mutex, everything else there is read-only once the workers start.
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench/stats.hpp"
#include "common/ws_connection.hpp"

namespace corvid::bench {

using clock_type = std::chrono::steady_clock;

struct loadgen_options {
    std::string url;       // ws://host:port (the agent and frontend paths are appended)
    std::string keys_file; // "server_id<TAB>api_key" lines (corvid-bench-provision)
    std::size_t agents = 0;
    std::chrono::milliseconds interval{5000};
    bool flood = false;       // send as fast as acks allow, `window` unacked samples per agent
    std::size_t window = 32;
    std::chrono::seconds duration{30}; // the measured window
    std::chrono::seconds warmup{0};    // after the ramp, before measuring
    std::size_t subscribers = 0;
    std::size_t subscribe_servers = 1; // subscribers are spread over the first K servers
    std::string user, password, http_url;
    unsigned threads = 1;
    std::size_t max_connecting = 256;  // connection attempts in flight (all threads together)
    std::chrono::seconds ramp_timeout{300};
    bool json = false;
};

struct server_key {
    std::string id, key;
};

// Relaxed atomics: exact totals at the end, approximate while running.
struct counters {
    std::atomic<std::uint64_t> agents_connected{0}, agents_failed{0}, agents_lost{0};
    std::atomic<std::uint64_t> samples_sent{0}, samples_acked{0}, agent_errors{0}, late_ticks{0};
    std::atomic<std::uint64_t> subs_connected{0}, subs_failed{0}, subs_lost{0};
    std::atomic<std::uint64_t> delivered{0}, delivered_unmatched{0}, snapshots{0};
};

// When each sample of a watched server was sent, keyed by (server index, timestamp), so that a
// subscriber on any thread can compute the delivery latency on the same steady clock.
// Thread-safe. Grows by one entry per watched sample; a bounded run keeps it small.
class send_log {
public:
    void record(std::uint32_t server, std::int64_t timestamp_ms, clock_type::time_point t)
    {
        std::lock_guard lock(mutex_);
        sent_.emplace(key(server, timestamp_ms), t);
    }
    std::optional<clock_type::time_point> find(std::uint32_t server, std::int64_t timestamp_ms) const
    {
        std::lock_guard lock(mutex_);
        auto it = sent_.find(key(server, timestamp_ms));
        if (it == sent_.end())
            return std::nullopt;
        return it->second;
    }

private:
    // Timestamps (ms since 1970) stay below 2^43 until the year 2248; 2^21 servers is plenty.
    static std::uint64_t key(std::uint32_t server, std::int64_t ts)
    {
        return (static_cast<std::uint64_t>(server) << 43) ^ static_cast<std::uint64_t>(ts);
    }
    mutable std::mutex mutex_;
    std::unordered_map<std::uint64_t, clock_type::time_point> sent_;
};

struct shared_run {
    loadgen_options options;
    std::vector<server_key> servers;
    ws_url agent_url, frontend_url; // frontend_url.target is the prefix before the server id
    std::string token;              // operator JWT for the subscribers
    clock_type::time_point t0;      // the interval schedule's origin
    std::int64_t wall0_ms = 0;      // the timestamps' origin
    counters count;
    send_log sends;
    std::atomic<bool> measuring{false};

    // Failure reasons, counted ("agent connect: Connection refused" → 3), printed in the summary.
    void note_error(const std::string& what)
    {
        std::lock_guard lock(errors_mutex_);
        ++errors_[what];
    }
    std::map<std::string, std::uint64_t> errors() const
    {
        std::lock_guard lock(errors_mutex_);
        return errors_;
    }

private:
    mutable std::mutex errors_mutex_;
    std::map<std::string, std::uint64_t> errors_;
};

class worker;

// A simulated agent or subscriber. run() connects, authenticates (reporting to
// worker::connect_done() either way), then works until stop(); stop() ends it politely.
// Both are called on the owning worker's thread.
class session {
public:
    virtual ~session() = default;
    virtual net::awaitable<void> run() = 0;
    virtual void stop() = 0;
};

std::shared_ptr<session> make_agent(worker& w, std::uint32_t server_index);
std::shared_ptr<session> make_subscriber(worker& w, std::uint32_t server_index);

// One thread with its own io_context and the sessions that live on it.
class worker {
public:
    worker(shared_run& run, std::size_t max_connecting);
    shared_run& run;
    net::io_context io{1};
    latency_recorder ack_latency, delivery_latency; // io thread only until the thread has ended

    // Any thread: starts the sessions, at most max_connecting of them connecting at once.
    void launch(std::vector<std::shared_ptr<session>> sessions);
    // Any thread: stops every session; the thread ends when they are all closed.
    void stop();
    void start_thread();
    // Any thread: waits up to `limit` for the thread to end; stops the io_context if it does not.
    bool join(std::chrono::steady_clock::duration limit);

    void connect_done(); // io thread: a session finished connecting (or failed to)

private:
    net::awaitable<void> launch_all(std::vector<std::shared_ptr<session>> sessions);

    std::size_t max_connecting_;
    std::size_t connecting_ = 0;
    bool stopping_ = false;
    net::steady_timer slot_free_;
    std::vector<std::shared_ptr<session>> sessions_;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> guard_;
    std::thread thread_;
    std::atomic<bool> finished_{false};
};

// Blocking login over a plain TCP socket: POST /api/v1/auth/login, returns the access token or an
// error text. Bounded by socket timeouts. Main thread, before the workers start.
std::optional<std::string> login(const std::string& http_url, const std::string& user, const std::string& password,
                                 std::string& error);

} // namespace corvid::bench
