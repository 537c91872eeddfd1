#pragma once
// One operator's live socket for one server: /api/v1/ws/metrics/{server_id} (and, until the logs
// feature lands, /api/v1/ws/logs/{server_id}, which authenticates and then only answers pings).
// Flow: token auth (first frame, 10 s) → auth_success → status → snapshot (latest sample) → live
// samples, with optional field selection, throttling and history (PROTOCOL.md, Frontends).
// Queues: samples never queue — one slot holds the newest undelivered sample, so a slow reader
// skips samples (coalescing) and never slows the agent or other subscribers. Other frames queue
// up to a bound; a frontend that lets that queue fill, or does not take a write for 10 s, is
// disconnected.
// io thread only.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <memory>
#include <string>

#include "collector/app.hpp"
#include "collector/live/hub.hpp"
#include "common/ws_connection.hpp"
#include "proto/codec.hpp"

namespace corvid::collector {

enum class frontend_topic { metrics, logs };

class frontend_session final : public live_subscriber, public std::enable_shared_from_this<frontend_session> {
public:
    frontend_session(app& a, std::unique_ptr<ws_connection> conn, std::string server_id, frontend_topic topic);
    net::awaitable<void> run();

    void deliver_sample(const live_sample_ptr& sample) override;
    void deliver_status(const std::shared_ptr<const std::string>& status_message) override;
    void close_going_away() override;

private:
    net::awaitable<bool> authenticate();
    net::awaitable<void> refuse(std::string_view code, std::string_view message);
    net::awaitable<void> send_snapshot();
    net::awaitable<void> read_loop();
    net::awaitable<void> write_loop();
    net::awaitable<void> on_subscribe(const proto::subscribe& sub);
    void send(std::shared_ptr<const std::string> frame);
    void send_error(std::string code, std::string message);

    app& app_;
    std::unique_ptr<ws_connection> conn_;
    std::string server_id_;
    frontend_topic topic_;
    std::string username_;
    std::optional<std::int64_t> stored_last_seen_ms_; // for the initial status of an offline server
    net::steady_timer wake_;
    std::deque<std::shared_ptr<const std::string>> control_;
    live_sample_ptr pending_sample_; // newest undelivered sample (coalesced)
    proto::field_mask mask_ = proto::all_fields;
    std::chrono::milliseconds min_interval_{0};
    std::chrono::steady_clock::time_point last_sample_sent_{};
    std::int64_t last_sample_ts_ = 0; // never send an older sample after a newer one
    bool closing_ = false;
    std::uint16_t close_code_ = close_code::going_away; // with closing_: how the socket is closed
};

} // namespace corvid::collector
