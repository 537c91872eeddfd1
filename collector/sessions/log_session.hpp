#pragma once
// One operator's logs socket for one server: /api/v1/ws/logs/{server_id} (PROTOCOL.md section
// 11.3). Token auth, auth_success and status as the metrics socket (frontend_socket); then every
// new log entry that passes the subscription's filter as {"type":"log","data":…}. A subscribe
// replaces the filter and, with `history`, first sends the last N matching stored entries, oldest
// first; live entries that arrive meanwhile wait, and any the history already holds are not sent
// twice (told apart by storage id).
// Queues: live entries wait in a log_outbox (1000 entries or 1 MiB): when it is full they are
// counted and the reader later gets {"type":"dropped","count":N} (see log_hub.hpp). History waits
// in its own queue of at most 1000 entries and 4 MiB. Neither ever slows ingest.
// io thread only.
#include <deque>
#include <memory>
#include <string>

#include "collector/live/log_hub.hpp"
#include "collector/sessions/frontend_socket.hpp"
#include "proto/codec.hpp"

namespace corvid::collector {

class log_session final : public frontend_socket, public log_subscriber {
public:
    log_session(app& a, std::unique_ptr<ws_connection> conn, std::string server_id);

    void deliver_logs(const std::vector<live_log_ptr>& entries) override;

private:
    net::awaitable<void> on_joined() override;
    void on_left() override;
    net::awaitable<void> on_message(std::string_view text) override;
    data_step next_data() override;
    net::awaitable<void> on_subscribe(const proto::log_subscribe& sub);

    live_log_filter filter_;
    log_outbox outbox_;
    std::deque<std::shared_ptr<const std::string>> history_;
    bool loading_history_ = false; // live entries wait until the history is queued
};

} // namespace corvid::collector
