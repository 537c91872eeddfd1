#pragma once
// The agent's link to the collector: dial, authenticate, then concurrently send samples from the
// outbox, read acks and commands, and keep a heartbeat; on any failure wait (backoff) and dial
// again, forever, until stop(). Connection policy (backoff, liveness) lives in pure classes.
// Threading: io thread only. Cancellation: stop() ends run() within about a second, closing the
// connection politely (1001) if one is open.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <string>

#include "agent/backoff.hpp"
#include "agent/liveness.hpp"
#include "agent/outbox.hpp"
#include "common/ws_connection.hpp"

namespace corvid::agent {

struct uplink_settings {
    std::string collector_url;
    std::string api_key;      // used when api_key_file is empty
    std::string api_key_file; // read again before every connection attempt (rotation without restart)
    std::chrono::seconds interval{5};
    std::string ca_file;
    std::string hostname;
    std::string agent_version;
};

class uplink {
public:
    uplink(net::any_io_executor ex, uplink_settings settings, outbox& box);

    net::awaitable<void> run();
    void notify_sample(); // a sample was pushed to the outbox
    void stop();
    bool connected() const { return connection_ != nullptr; }

private:
    net::awaitable<bool> authenticate(ws_connection& conn, const std::string& api_key);
    net::awaitable<void> session(ws_connection& conn);
    net::awaitable<void> receive_loop(ws_connection& conn, liveness& live);
    net::awaitable<void> send_loop(ws_connection& conn);
    net::awaitable<void> heartbeat(ws_connection& conn, liveness& live);
    net::awaitable<void> pause(std::chrono::milliseconds d);
    std::string read_api_key();

    net::any_io_executor ex_;
    uplink_settings settings_;
    outbox& box_;
    backoff backoff_;
    net::steady_timer wake_;  // a condition variable: cancelled when the send loop has work
    net::steady_timer pause_; // backoff sleeps; cancelled by stop()
    ws_connection* connection_ = nullptr;
    std::string server_id_;
    bool stopping_ = false;
    bool pong_due_ = false, ping_due_ = false;
    std::uint64_t reported_dropped_ = 0;
};

} // namespace corvid::agent
