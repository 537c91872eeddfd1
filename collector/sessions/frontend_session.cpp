#include "collector/sessions/frontend_session.hpp"

#include "common/deadline.hpp"
#include "common/log.hpp"
#include "common/time_format.hpp"

namespace corvid::collector {
namespace {
constexpr std::int64_t max_history_s = 86400;
constexpr std::size_t max_history_samples = 20000;
// And at most this much stored sample JSON (issue 12.8): a history message stays around 8 MiB
// even for hosts with large samples; like the count, it cuts off the newest part of the window.
constexpr std::size_t max_history_bytes = 8 * 1024 * 1024;
} // namespace

frontend_session::frontend_session(app& a, std::unique_ptr<ws_connection> conn, std::string server_id)
    : frontend_socket(a, std::move(conn), std::move(server_id), "metrics")
{
}

void frontend_session::deliver_sample(const live_sample_ptr& sample)
{
    if (!pending_sample_ || pending_sample_->timestamp_ms() <= sample->timestamp_ms())
        pending_sample_ = sample;
    wake();
}

net::awaitable<void> frontend_session::on_joined()
{
    // By static_pointer_cast: enable_shared_from_this lives in frontend_socket.
    app_.hub.join(server_id_, std::static_pointer_cast<frontend_session>(shared_from_this()));
    // The snapshot goes out before anything else; frontend_socket sends the status next.
    live_sample_ptr latest = app_.hub.latest(server_id_);
    if (!latest) {
        // After a collector restart the hub is empty: the newest stored sample is the snapshot.
        auto row = co_await app_.store.read([&](storage& s) { return s.latest_sample(server_id_); });
        if (row && *row) {
            if (auto data = proto::decode_sample_data((*row)->data_json))
                latest = std::make_shared<const live_sample>(server_id_, std::move(*data), (*row)->data_json);
            else
                log::error("stored sample of server {} does not decode: {}", server_id_, data.error().message);
        }
    }
    if (!latest)
        co_return;
    const auto frame = latest->message(mask_);
    const bool sent = co_await write_now(*frame);
    if (sent)
        last_sample_ts_ = latest->timestamp_ms();
}

void frontend_session::on_left() { app_.hub.leave(server_id_, this); }

net::awaitable<void> frontend_session::on_message(std::string_view text)
{
    auto msg = proto::decode_from_frontend(text);
    if (!msg) {
        send_error("invalid_message", msg.error().message);
        co_return;
    }
    if (std::holds_alternative<proto::ping>(*msg))
        send_pong();
    else if (auto* sub = std::get_if<proto::subscribe>(&*msg))
        co_await on_subscribe(*sub);
    else if (std::holds_alternative<proto::frontend_auth>(*msg))
        send_error("invalid_message", "already authenticated");
}

net::awaitable<void> frontend_session::on_subscribe(const proto::subscribe& sub)
{
    proto::field_mask mask = 0;
    for (const auto& name : sub.metrics) {
        auto f = proto::sample_field_from_name(name);
        if (!f) {
            send_error("invalid_subscription", "unknown metric '" + name + "'");
            co_return;
        }
        mask |= proto::mask_of(*f);
    }
    if (sub.min_interval_ms && (*sub.min_interval_ms < 100 || *sub.min_interval_ms > 60000)) {
        send_error("invalid_subscription", "min_interval_ms must be between 100 and 60000");
        co_return;
    }
    if (sub.history_s && (*sub.history_s < 0 || *sub.history_s > max_history_s)) {
        send_error("invalid_subscription", "history_s must be between 0 and 86400");
        co_return;
    }
    mask_ = sub.metrics.empty() ? proto::all_fields : mask;
    min_interval_ = std::chrono::milliseconds(sub.min_interval_ms.value_or(0));
    if (!sub.history_s || *sub.history_s == 0)
        co_return;
    const auto to = now_unix_ms();
    const auto from = to - *sub.history_s * 1000;
    const auto history_mask = mask_;
    // Decoding and re-encoding up to a day of samples is real work: it runs on the reader thread.
    auto encoded = co_await app_.store.read([&](storage& s) -> storage_result<std::string> {
        auto rows = s.samples_between(server_id_, from, to, max_history_samples, max_history_bytes);
        if (!rows)
            return rows.error();
        std::vector<proto::sample_data> history;
        history.reserve(rows->size());
        for (const auto& r : *rows)
            if (auto d = proto::decode_sample_data(r.data_json))
                history.push_back(std::move(*d));
        return proto::encode_history(history, history_mask);
    });
    if (!encoded) {
        send_error("internal_error", "history is unavailable right now");
        co_return;
    }
    send(std::move(*encoded));
}

frontend_socket::data_step frontend_session::next_data()
{
    while (pending_sample_) {
        const auto due = last_sample_sent_ + min_interval_;
        if (min_interval_.count() > 0 && std::chrono::steady_clock::now() < due)
            return {nullptr, due}; // newer samples replace this one meanwhile
        auto sample = std::move(pending_sample_);
        pending_sample_.reset();
        if (sample->timestamp_ms() > last_sample_ts_) {
            last_sample_ts_ = sample->timestamp_ms();
            last_sample_sent_ = std::chrono::steady_clock::now();
            return {sample->message(mask_), std::nullopt};
        }
    }
    return {};
}

} // namespace corvid::collector
