#pragma once
// One agent's WebSocket session on the collector: authenticate by API key (first frame, 10 s),
// then store each metrics frame and each log batch and ack it (per stream) once committed, record
// gaps the agent reports, answer pings, and keep the server's online status. Frames are read one
// at a time; while the storage queue is full the session stops reading, so back-pressure reaches
// the agent through TCP instead of samples or log lines being dropped.
// Outgoing frames (acks, pongs, errors, signed commands) go through ws_session's bounded queue
// (4096 frames, 16 MiB) with one write in flight; an agent that does not read them until the queue
// is full is disconnected. Every close drains that queue first: acks sent are samples the agent
// need not send again.
// io thread only.
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "collector/app.hpp"
#include "collector/sessions/ws_session.hpp"
#include "proto/messages.hpp"

namespace corvid::collector {

class agent_session final : public ws_session, public agent_link, public std::enable_shared_from_this<agent_session> {
public:
    agent_session(app& a, std::unique_ptr<ws_connection> conn);
    net::awaitable<void> run();

    void close_policy(std::string reason) override;
    std::int64_t last_seen_ms() const override { return last_seen_ms_; }
    bool send_frame(std::string frame) override;

private:
    net::awaitable<bool> authenticate();
    net::awaitable<void> on_frame(ws_read_result& r) override;
    net::awaitable<void> on_metrics(proto::metrics& m);
    net::awaitable<void> on_logs(proto::log_batch& batch);
    net::awaitable<void> on_gap(const proto::gap& g);
    // Acks a message that stores nothing, once everything received before it has committed.
    net::awaitable<void> ack_in_order(std::uint64_t seq, std::string_view stream);
    void on_command_message(proto::from_agent& msg);
    void reject(std::string code, std::string message); // logged, then sent as an error frame
    void request_close(std::uint16_t code, std::string reason);

    app& app_;
    std::string server_id_;
    std::string hostname_, agent_version_;
    std::int64_t last_seen_ms_ = 0;
};

} // namespace corvid::collector
