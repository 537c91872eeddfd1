#include "collector/sessions/frontend_session.hpp"

#include "collector/limits/rate_limit.hpp"
#include "collector/sessions/frontend_login.hpp"
#include "collector/sessions/refuse.hpp"
#include "common/deadline.hpp"
#include "common/log.hpp"
#include "common/time_format.hpp"

namespace corvid::collector {
namespace {
constexpr auto write_deadline = std::chrono::seconds(10);
constexpr std::size_t max_control_frames = 256;
constexpr std::int64_t max_history_s = 86400;
constexpr std::size_t max_history_samples = 20000;

std::shared_ptr<const std::string> shared(std::string s) { return std::make_shared<const std::string>(std::move(s)); }

std::shared_ptr<const std::string> rate_limited_frame(std::uint32_t retry_after_s)
{
    return shared(proto::encode(proto::error{
        "rate_limit_exceeded",
        fmt::format("more than {} messages/s (burst {}); message dropped", frontend_message_rate.rate_per_s,
                    frontend_message_rate.burst),
        retry_after_s}));
}
} // namespace

frontend_session::frontend_session(app& a, std::unique_ptr<ws_connection> conn, std::string server_id,
                                   frontend_topic topic)
    : app_(a), conn_(std::move(conn)), server_id_(std::move(server_id)), topic_(topic), wake_(a.io)
{
}

void frontend_session::send(std::shared_ptr<const std::string> frame)
{
    if (closing_)
        return;
    if (control_.size() >= max_control_frames) {
        log::warn("frontend {} for server {} is not reading; disconnecting", conn_->remote_address(), server_id_);
        conn_->abort();
        return;
    }
    control_.push_back(std::move(frame));
    wake_.cancel();
}

void frontend_session::send_error(std::string code, std::string message)
{
    send(shared(proto::encode(proto::error{std::move(code), std::move(message), std::nullopt})));
}

void frontend_session::deliver_sample(const live_sample_ptr& sample)
{
    if (topic_ != frontend_topic::metrics)
        return;
    if (!pending_sample_ || pending_sample_->timestamp_ms() <= sample->timestamp_ms())
        pending_sample_ = sample;
    wake_.cancel();
}

void frontend_session::deliver_status(const std::shared_ptr<const std::string>& status_message)
{
    if (topic_ == frontend_topic::metrics)
        send(status_message);
}

void frontend_session::close_going_away()
{
    closing_ = true;
    wake_.cancel();
}

net::awaitable<void> frontend_session::refuse(std::string_view code, std::string_view message)
{
    log::warn("frontend from {} for server {} refused: {}", conn_->remote_address(), server_id_, message);
    co_await refuse_and_close(*conn_, code, message);
}

net::awaitable<bool> frontend_session::authenticate()
{
    auto who = co_await read_frontend_login(app_, *conn_);
    if (!who)
        co_return false;
    auto server = co_await app_.store.read([&](storage& s) { return s.find_server(server_id_); });
    if (!server || !*server) {
        co_await refuse("not_found", "no such server");
        co_return false;
    }
    username_ = who->username;
    stored_last_seen_ms_ = (*server)->last_seen_ms;
    const std::string welcome = proto::encode(proto::auth_success{server_id_, "Connected successfully"});
    auto sent = co_await (conn_->write(welcome) || abort_after(*conn_, write_deadline));
    co_return sent.index() == 0 && !std::get<0>(sent);
}

net::awaitable<void> frontend_session::send_snapshot()
{
    // The snapshot goes out before anything else, then the agent's current status.
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
    if (latest) {
        const auto frame = latest->message(mask_);
        auto sent = co_await (conn_->write(*frame) || abort_after(*conn_, write_deadline));
        if (sent.index() != 0 || std::get<0>(sent))
            co_return;
        last_sample_ts_ = latest->timestamp_ms();
    }
    const bool online = app_.agents.online(server_id_);
    send(shared(proto::encode_status(online, online ? app_.agents.last_seen_ms(server_id_) : stored_last_seen_ms_)));
}

net::awaitable<void> frontend_session::run()
{
    const bool authenticated = co_await authenticate();
    if (!authenticated)
        co_return;
    log::info("frontend {} ({}) watching {} of server {}", username_, conn_->remote_address(),
              topic_ == frontend_topic::metrics ? "metrics" : "logs", server_id_);
    app_.hub.join(server_id_, weak_from_this());
    if (topic_ == frontend_topic::metrics)
        co_await send_snapshot();
    co_await (read_loop() || write_loop());
    conn_->abort();
    app_.hub.leave(server_id_, this);
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
        auto rows = s.samples_between(server_id_, from, to, max_history_samples);
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
    send(shared(std::move(*encoded)));
}

net::awaitable<void> frontend_session::read_loop()
{
    message_rate_limiter rate(frontend_message_rate, limit_clock::now());
    for (;;) {
        auto r = co_await conn_->read();
        const bool binary = r.ec == make_error_code(ws_errc::binary_frame);
        if (r.ec && !binary)
            co_return;
        if (closing_)
            continue;
        const auto now = limit_clock::now();
        const auto verdict = rate.on_message(now);
        if (verdict == rate_verdict::close) {
            log::warn("frontend {} for server {} exceeded {} messages/s for {} s; closing", conn_->remote_address(),
                      server_id_, frontend_message_rate.rate_per_s,
                      std::chrono::duration_cast<std::chrono::seconds>(frontend_message_rate.close_after).count());
            close_code_ = close_code::policy_violation;
            closing_ = true;
            wake_.cancel();
            continue;
        }
        if (verdict == rate_verdict::drop) {
            auto frame = rate_limited_frame(rate.retry_after_s(now));
            send(std::move(frame));
            continue;
        }
        if (binary) {
            send_error("invalid_message", r.ec.message());
            continue;
        }
        auto msg = proto::decode_from_frontend(r.text);
        if (!msg) {
            send_error("invalid_message", msg.error().message);
            continue;
        }
        if (std::holds_alternative<proto::ping>(*msg)) {
            send(shared(proto::encode(proto::pong{now_unix_ms()})));
        } else if (auto* sub = std::get_if<proto::subscribe>(&*msg)) {
            co_await on_subscribe(*sub);
        } else if (std::holds_alternative<proto::frontend_auth>(*msg)) {
            send_error("invalid_message", "already authenticated");
        }
    }
}

net::awaitable<void> frontend_session::write_loop()
{
    net::steady_timer throttle(app_.io);
    for (;;) {
        std::shared_ptr<const std::string> frame;
        if (closing_) {
            const std::string_view reason =
                close_code_ == close_code::going_away ? "collector shutting down" : "rate_limit_exceeded";
            co_await (conn_->close(close_code_, reason) || abort_after(*conn_, write_deadline));
            conn_->abort();
            co_return;
        }
        if (!control_.empty()) {
            frame = std::move(control_.front());
            control_.pop_front();
        } else if (pending_sample_) {
            const auto due = last_sample_sent_ + min_interval_;
            if (min_interval_.count() > 0 && std::chrono::steady_clock::now() < due) {
                // Throttled: wait until due (or for control frames); newer samples replace this one meanwhile.
                wake_.expires_at(due);
                co_await wake_.async_wait(use_tuple);
                continue;
            }
            if (pending_sample_->timestamp_ms() > last_sample_ts_) {
                frame = pending_sample_->message(mask_);
                last_sample_ts_ = pending_sample_->timestamp_ms();
                last_sample_sent_ = std::chrono::steady_clock::now();
            }
            pending_sample_.reset();
            if (!frame)
                continue;
        } else {
            co_await wait_for_wake(wake_);
            continue;
        }
        auto sent = co_await (conn_->write(*frame) || abort_after(*conn_, write_deadline));
        if (sent.index() != 0 || std::get<0>(sent)) {
            log::info("frontend {} for server {} stopped taking writes; disconnected", conn_->remote_address(), server_id_);
            conn_->abort();
            co_return;
        }
    }
}

} // namespace corvid::collector
