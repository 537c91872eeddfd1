#pragma once
// One agent's WebSocket session on the collector: authenticate by API key (first frame, 10 s),
// then store each metrics frame and each log batch and ack it (per stream) once committed, record
// gaps the agent reports, answer pings, and keep the server's online status. Frames are read one
// at a time; while the storage queue is full the session stops reading, so back-pressure reaches
// the agent through TCP instead of samples or log lines being dropped.
// Outgoing frames (acks, pongs, errors) go through a bounded queue with one write in flight; an
// agent that does not read them until the queue is full is disconnected.
// io thread only.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <memory>
#include <string>

#include "collector/app.hpp"
#include "common/ws_connection.hpp"
#include "proto/messages.hpp"

namespace corvid::collector {

class agent_session final : public agent_link, public std::enable_shared_from_this<agent_session> {
public:
    agent_session(app& a, std::unique_ptr<ws_connection> conn);
    net::awaitable<void> run();

    void close_policy(std::string reason) override;
    void close_going_away() override;
    std::int64_t last_seen_ms() const override { return last_seen_ms_; }
    bool send_frame(std::string frame) override;

private:
    net::awaitable<bool> authenticate();
    net::awaitable<void> read_loop();
    net::awaitable<void> write_loop();
    net::awaitable<void> on_metrics(proto::metrics& m);
    net::awaitable<void> on_logs(proto::log_batch& batch);
    net::awaitable<void> on_gap(const proto::gap& g);
    // Acks a message that stores nothing, once everything received before it has committed.
    net::awaitable<void> ack_in_order(std::uint64_t seq, std::string_view stream);
    void on_command_message(proto::from_agent& msg);
    void send(std::string frame);
    void send_error(std::string code, std::string message);
    void request_close(std::uint16_t code, std::string reason);

    app& app_;
    std::unique_ptr<ws_connection> conn_;
    net::steady_timer wake_;
    std::deque<std::string> outgoing_;
    std::string server_id_;
    std::string hostname_, agent_version_;
    std::chrono::seconds silence_limit_{24 * 3600}; // set from the agent's interval at auth
    std::int64_t last_seen_ms_ = 0;
    std::uint16_t close_code_ = 0; // set: the write loop closes with it after draining
    std::string close_reason_;
};

} // namespace corvid::collector
