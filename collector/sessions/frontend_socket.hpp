#pragma once
// What an operator's sockets about one server share (metrics and logs, PROTOCOL.md sections 4 and
// 11.3): the first-frame token login (frontend_login.hpp), the check that the server exists,
// auth_success and the agent's status, and membership of presence (status updates, closing when
// the server is deleted, /health's count). The queue, the write loop, the rate limit and the
// close are ws_session's. A subclass decodes and handles messages (on_message), hands out its data
// frames (next_data), and joins its own hub in on_joined and leaves it in on_left.
// Queues: control frames queue up to 256 frames and 24 MiB; a frontend that lets that fill, or
// does not take a write for 10 s, is disconnected. Data frames are the subclass's to bound.
// Revocation: once authenticated the socket registers with the identity watch
// (identity_watch.hpp); when its user is deleted, disabled or logged out, or its token expires,
// the socket sends one error frame ({"type":"error","code":"user_deleted"|…}) and closes with 1008,
// dropping whatever else was queued.
// io thread only.
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "collector/app.hpp"
#include "collector/auth/identity_watch.hpp"
#include "collector/live/presence.hpp"
#include "collector/sessions/ws_session.hpp"

namespace corvid::collector {

class frontend_socket : public ws_session,
                        public server_watcher,
                        public std::enable_shared_from_this<frontend_socket> {
public:
    // Authenticates, serves until either side ends, then leaves presence and the hubs.
    net::awaitable<void> run();

    void deliver_status(const std::shared_ptr<const std::string>& status_message) override;
    void close_server_deleted() override;

protected:
    // `topic` names the socket in log lines ("metrics", "logs"); a string literal.
    frontend_socket(app& a, std::unique_ptr<ws_connection> conn, std::string server_id, std::string_view topic);

    // After auth_success: the subclass joins its hub and may write its first frames directly
    // (write_now: the metrics snapshot); the status follows.
    virtual net::awaitable<void> on_joined() = 0;
    virtual void on_left() = 0;
    // One text frame within the rate limit. While it awaits (storage), the socket reads nothing
    // more, and the write loop goes on.
    virtual net::awaitable<void> on_message(std::string_view text) = 0;

    app& app_;
    const std::string server_id_;

private:
    net::awaitable<bool> authenticate();
    net::awaitable<void> on_frame(ws_read_result& r) override;
    void revoke(revocation why); // the identity watch's verdict: error frame, then close 1008

    std::string_view topic_;
    std::string username_;
    watched_identity identity_;   // who authenticated, with the token's generation and expiry
    std::uint64_t watch_id_ = 0;  // registration with app_.identities; 0: none
    std::optional<std::int64_t> stored_last_seen_ms_; // for the initial status of an offline server
};

// How operator sockets close when their identity is revoked: one error frame and 1008, what was
// queued dropped, each step within 2 s (gone within 5 s; the watch notices within about 1 s).
void close_revoked(ws_session& s, revocation why);

} // namespace corvid::collector
