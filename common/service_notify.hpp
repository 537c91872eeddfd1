#pragma once
// systemd integration for Type=notify services: READY=1 once serving, STOPPING=1 on shutdown,
// and WATCHDOG=1 pings sent from the io loop itself, so a wedged loop stops the pings and systemd
// restarts the service. Without NOTIFY_SOCKET (not under systemd) every call does nothing.
// io thread only.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <string_view>

namespace corvid {

void notify_ready(std::string_view status);
void notify_stopping();
// Runs until cancelled or the io_context stops; returns at once when no watchdog is configured.
boost::asio::awaitable<void> watchdog_loop();

} // namespace corvid
