#include "agent/sampling.hpp"

#include <fmt/ranges.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/sample_fit.hpp"
#include "common/deadline.hpp"
#include "common/log.hpp"
#include "common/on_thread.hpp"
#include "common/time_format.hpp"
#include "proto/codec.hpp"

namespace corvid::agent {

std::int64_t next_tick_ms(std::int64_t now_ms, std::int64_t interval_ms)
{
    return (now_ms / interval_ms + 1) * interval_ms;
}

sampling::sampling(net::any_io_executor ex, metrics_sampler& sampler, spooled_stream& metrics, std::chrono::seconds interval)
    : ex_(ex), sampler_(sampler), metrics_(metrics), interval_(interval), timer_(ex)
{
}

sampling::~sampling()
{
    worker_.stop();
    worker_.join();
}

void sampling::stop()
{
    stopping_ = true;
    timer_.cancel();
}

net::awaitable<void> sampling::run()
{
    const std::int64_t interval_ms = std::chrono::duration_cast<std::chrono::milliseconds>(interval_).count();
    // Prime the counters so the first real sample already has rates.
    co_await run_on(worker_, [this] { sampler_.sample(now_unix_ms()); });
    while (!stopping_) {
        const auto tick = next_tick_ms(now_unix_ms(), interval_ms);
        timer_.expires_after(std::chrono::milliseconds(tick - now_unix_ms()));
        co_await timer_.async_wait(use_tuple); // cancelled only by stop()
        if (stopping_)
            break;
        const auto started = std::chrono::steady_clock::now();
        auto data = co_await run_on(worker_, [this, tick] { return sampler_.sample(tick); });
        const auto took_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
        if (took_ms > interval_ms / 2)
            log::warn("sampling took {} ms, more than half the interval", took_ms);
        if (decorate_)
            decorate_(data);
        const auto cut = fit_sample(data, max_sample_data_bytes());
        if (!cut.empty() && !cutting_)
            log::warn("a sample was larger than the collector accepts ({} bytes); cut these lists to fit: {} "
                      "(logged once until samples fit again)",
                      proto::max_sample_frame_bytes, fmt::join(cut, ", "));
        else if (cut.empty() && cutting_)
            log::info("samples fit again without cutting lists");
        cutting_ = !cut.empty();
        std::string payload = proto::encode_sample_data(data);
        auto appending = metrics_.append(data.timestamp_ms, std::move(payload)); // named: GCC 12 (README)
        co_await std::move(appending);
    }
}

} // namespace corvid::agent
