#pragma once
// What an operator's metrics socket and logs socket share (PROTOCOL.md sections 4 and 11.3): the
// first-frame token login (frontend_login.hpp), the check that the server exists, auth_success and
// the agent's status, the per-connection message rate limit, and one write loop that sends control
// frames (replies, errors, status, history) before data frames, one write in flight, each within
// 10 s. A subclass decodes and handles messages (on_message) and hands out its data frames
// (next_data); it joins its own hubs in on_joined and leaves them in on_left.
// Queues: control frames queue up to 256 frames and 24 MiB; a frontend that lets that fill, or
// does not take a write for 10 s, is disconnected. Data frames are the subclass's to bound.
// Revocation: once authenticated the socket registers with the identity watch
// (identity_watch.hpp); when its user is deleted, disabled or logged out, or its token expires,
// the socket sends one error frame ({"type":"error","code":"user_deleted"|…}) and closes with 1008,
// dropping whatever else was queued.
// io thread only.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "collector/app.hpp"
#include "collector/auth/identity_watch.hpp"
#include "collector/live/hub.hpp"
#include "common/ws_connection.hpp"

namespace corvid::collector {

class frontend_socket : public live_subscriber, public std::enable_shared_from_this<frontend_socket> {
public:
    // Authenticates, serves until either side ends, then leaves the hubs.
    net::awaitable<void> run();

    void deliver_status(const std::shared_ptr<const std::string>& status_message) override;
    void close_going_away() override;

protected:
    // `topic` names the socket in log lines ("metrics", "logs"); a string literal.
    frontend_socket(app& a, std::unique_ptr<ws_connection> conn, std::string server_id, std::string_view topic);

    // After auth_success: the subclass joins its hubs and may write its first frames directly
    // (the metrics snapshot); the status follows.
    virtual net::awaitable<void> on_joined() = 0;
    virtual void on_left() = 0;
    // One text frame within the rate limit. Runs in the read loop: while it awaits (storage), the
    // socket reads nothing more, and the write loop goes on.
    virtual net::awaitable<void> on_message(std::string_view text) = 0;
    struct data_step {
        std::shared_ptr<const std::string> frame;                       // write this, or
        std::optional<std::chrono::steady_clock::time_point> not_before; // wake then (throttled), or wait
    };
    virtual data_step next_data() = 0;

    void send(std::shared_ptr<const std::string> frame); // a control frame
    void send_error(std::string code, std::string message);
    void send_pong();
    void wake() { wake_.cancel(); } // the write loop looks again for data
    bool closing() const { return closing_; }
    static std::shared_ptr<const std::string> shared(std::string s);

    app& app_;
    std::unique_ptr<ws_connection> conn_;
    const std::string server_id_;

private:
    net::awaitable<bool> authenticate();
    net::awaitable<void> read_loop();
    net::awaitable<void> write_loop();
    void revoke(revocation why); // the identity watch's verdict: error frame, then close 1008

    std::string_view topic_;
    std::string username_;
    watched_identity identity_;   // who authenticated, with the token's generation and expiry
    std::uint64_t watch_id_ = 0;  // registration with app_.identities; 0: none
    std::shared_ptr<const std::string> final_frame_; // with closing_: written before the close
    std::optional<std::int64_t> stored_last_seen_ms_; // for the initial status of an offline server
    net::steady_timer wake_;
    std::deque<std::shared_ptr<const std::string>> control_;
    std::size_t control_bytes_ = 0; // the sizes of the frames in control_
    bool closing_ = false;
    std::uint16_t close_code_ = close_code::going_away; // with closing_: how the socket is closed
    std::string_view close_reason_ = "collector shutting down";
};

} // namespace corvid::collector
