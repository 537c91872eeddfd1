#pragma once
// The agent's link to the collector: dial, authenticate, then concurrently send the spooled streams
// (metrics, logs) and control frames, read acks and commands, and keep a heartbeat; on any failure
// wait (backoff) and dial again, forever, until stop(). Connection policy (backoff, liveness, the
// order of records in stream_outbox) lives in pure classes.
// Sending order: pong/ping, control frames (command output and results, gaps), live records, then
// the backlog. Everything sent is paced by a token bucket (send_rate) kept below the collector's
// per-connection limit (PROTOCOL.md 8), and the backlog only uses what live traffic leaves.
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
#include "agent/spooled_stream.hpp"
#include "common/token_bucket.hpp"
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
    // The streams must outlive the uplink; their listeners are set here.
    uplink(net::any_io_executor ex, uplink_settings settings, std::vector<spooled_stream*> streams);

    // Tokens the backlog leaves for live records and control frames (everything is paced at
    // proto::agent_send_rate_per_s).
    static constexpr double backlog_reserve = 20;

    net::awaitable<void> run();
    void notify(); // a stream has something to send
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
    std::string next_stream_frame(token_bucket& pace);
    spooled_stream* stream_named(std::string_view name);
    std::string read_api_key();

    net::any_io_executor ex_;
    uplink_settings settings_;
    std::vector<spooled_stream*> streams_;
    std::size_t next_stream_ = 0; // round robin over streams for live records
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
};

} // namespace corvid::agent
