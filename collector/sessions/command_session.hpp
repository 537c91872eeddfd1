#pragma once
// One operator's live view of one command: /api/v1/ws/commands/{command_id}.
// Flow: token auth (first frame, 10 s) → only the command's issuer or an admin may watch →
// auth_success → the output that has arrived so far → each command_output as it arrives → the
// final command_response (docker_response for Docker actions) → close 1000. For a command that
// already ended, its stored output comes as one command_output, then its final response.
// Bound: the frames of one command (its output is capped at the agent and buffered at most
// command_tracker::max_buffered_output here); a watcher whose queue passes 4096 frames or 24 MiB,
// or that does not take a write for 10 s, is disconnected, without effect on the command. The
// queue, write loop, rate limit (as for frontends) and close are ws_session's.
// Revocation: the watcher registers with the identity watch (identity_watch.hpp), needing the admin
// role unless it issued the command; when revoked it gets one error frame and close 1008.
// io thread only.
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "collector/app.hpp"
#include "collector/auth/identity_watch.hpp"
#include "collector/sessions/ws_session.hpp"

namespace corvid::collector {

class command_session final : public ws_session,
                              public command_watcher,
                              public std::enable_shared_from_this<command_session> {
public:
    command_session(app& a, std::unique_ptr<ws_connection> conn, std::string command_id);
    net::awaitable<void> run();

    void deliver(std::shared_ptr<const std::string> frame) override;
    void command_ended() override;

private:
    net::awaitable<bool> authenticate();
    net::awaitable<void> on_frame(ws_read_result& r) override;
    void send_stored(const command_record& c);
    // `first` once its status is final (re-read from storage for up to 5 s), or as it last stood.
    net::awaitable<command_record> settled_record(const command_record& first);
    void revoke(revocation why);

    app& app_;
    std::string command_id_;
    watched_identity identity_;
    std::uint64_t watch_id_ = 0; // registration with app_.identities; 0: none
};

} // namespace corvid::collector
