#include "common/service_notify.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <string>
#include <systemd/sd-daemon.h>

namespace corvid {

void notify_ready(std::string_view status)
{
    const std::string msg = "READY=1\nSTATUS=" + std::string(status);
    sd_notify(0, msg.c_str());
}

void notify_stopping() { sd_notify(0, "STOPPING=1"); }

boost::asio::awaitable<void> watchdog_loop()
{
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        co_return;
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    for (;;) {
        sd_notify(0, "WATCHDOG=1");
        timer.expires_after(std::chrono::microseconds(usec / 2));
        auto [ec] = co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        if (ec)
            co_return;
    }
}

} // namespace corvid
