#pragma once
// One operator's metrics socket for one server: /api/v1/ws/metrics/{server_id}. Flow (PROTOCOL.md,
// section 4): token auth (frontend_socket) → auth_success → snapshot (latest sample) → status →
// live samples, with optional field selection, throttling and history.
// Queues: samples never queue — one slot holds the newest undelivered sample, so a slow reader
// skips samples (coalescing) and never slows the agent or other subscribers. Other frames go
// through frontend_socket's bounded control queue.
// io thread only.
#include <chrono>
#include <memory>
#include <string>

#include "collector/live/hub.hpp"
#include "collector/sessions/frontend_socket.hpp"
#include "proto/codec.hpp"

namespace corvid::collector {

class frontend_session final : public frontend_socket, public live_subscriber {
public:
    frontend_session(app& a, std::unique_ptr<ws_connection> conn, std::string server_id);

    void deliver_sample(const live_sample_ptr& sample) override;

private:
    net::awaitable<void> on_joined() override; // joins the hub; the snapshot
    void on_left() override;
    net::awaitable<void> on_message(std::string_view text) override;
    data_step next_data() override;
    net::awaitable<void> on_subscribe(const proto::subscribe& sub);

    live_sample_ptr pending_sample_; // newest undelivered sample (coalesced)
    proto::field_mask mask_ = proto::all_fields;
    std::chrono::milliseconds min_interval_{0};
    std::chrono::steady_clock::time_point last_sample_sent_{};
    std::int64_t last_sample_ts_ = 0; // never send an older sample after a newer one
};

} // namespace corvid::collector
