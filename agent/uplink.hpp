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
#include <deque>
#include <functional>
#include <string>

#include "agent/backoff.hpp"
#include "agent/liveness.hpp"
#include "agent/outbox.hpp"
#include "common/ws_connection.hpp"
#include "proto/messages.hpp"

namespace corvid::agent {

struct uplink_settings {
    std::string collector_url;
    std::string api_key;      // used when api_key_file is empty
    std::string api_key_file; // read again before every connection attempt (rotation without restart)
    std::chrono::seconds interval{5};
    std::string ca_file;
    std::string tls_pin_sha256; // see ws_client_options
    std::string hostname;
    std::string agent_version;
};

// Where commands from the collector go (command_dispatcher); io thread.
struct command_handlers {
    std::function<void(const std::string& server_id)> on_authenticated;
    std::function<void(const proto::command&)> on_command;
    std::function<void(const proto::docker_command&)> on_docker_command;
};

class uplink {
public:
    uplink(net::any_io_executor ex, uplink_settings settings, outbox& box);

    net::awaitable<void> run();
    void notify_sample(); // a sample was pushed to the outbox
    void set_command_handlers(command_handlers h) { handlers_ = std::move(h); }
    // Queues a frame other than a sample (command output and results), sent ahead of samples.
    // Bound: max_control_frames. Droppable frames (output chunks) are refused when the queue is
    // half full and discarded when the link drops; others wait for the next connection, and only
    // a full queue drops them (logged).
    void send_control(std::string frame, bool droppable);
    static constexpr std::size_t max_control_frames = 256;
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
    command_handlers handlers_;
    struct control_frame {
        std::string text;
        bool droppable;
    };
    std::deque<control_frame> control_;
    std::uint64_t control_dropped_ = 0;
    std::string server_id_;
    bool stopping_ = false;
    bool pong_due_ = false, ping_due_ = false;
    std::uint64_t reported_dropped_ = 0;
};

} // namespace corvid::agent
