#pragma once
// The agent's sampling clock: one sample every interval, on wall-clock multiples of the interval
// (…:00, :05, :10 for 5 s), so timestamps are regular and a resent sample is recognisable by its
// timestamp. The sampler's blocking reads run on a worker thread, never on the io thread, so a
// hung filesystem cannot stall the uplink. Each sample goes into the metrics spool (and from
// there to the uplink) before the next tick.
// io thread only; stop() ends run() at its next wait.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <functional>

#include "agent/metrics/sampler.hpp"
#include "agent/spooled_stream.hpp"

namespace corvid::agent {

namespace net = boost::asio;

// The first wall-clock multiple of interval_ms strictly after now_ms.
std::int64_t next_tick_ms(std::int64_t now_ms, std::int64_t interval_ms);

class sampling {
public:
    sampling(net::any_io_executor ex, metrics_sampler& sampler, spooled_stream& metrics, std::chrono::seconds interval);
    ~sampling();
    net::awaitable<void> run();
    void stop();
    // Adds to each sample on the io thread before it is queued (the container list).
    void set_decorator(std::function<void(proto::sample_data&)> d) { decorate_ = std::move(d); }

private:
    net::any_io_executor ex_;
    metrics_sampler& sampler_;
    spooled_stream& metrics_;
    std::chrono::seconds interval_;
    std::function<void(proto::sample_data&)> decorate_;
    net::steady_timer timer_;
    net::thread_pool worker_{1};
    bool stopping_ = false;
    bool cutting_ = false; // the last sample had lists cut to fit (sample_fit.hpp)
};

} // namespace corvid::agent
