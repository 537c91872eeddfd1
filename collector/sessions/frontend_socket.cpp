#include "collector/sessions/frontend_socket.hpp"

#include "collector/limits/rate_limit.hpp"
#include "collector/sessions/frontend_login.hpp"
#include "collector/sessions/refuse.hpp"
#include "common/deadline.hpp"
#include "common/log.hpp"
#include "common/time_format.hpp"
#include "proto/codec.hpp"

namespace corvid::collector {
namespace {
constexpr auto write_deadline = std::chrono::seconds(10);
constexpr std::size_t max_control_frames = 256;

std::shared_ptr<const std::string> rate_limited_frame(std::uint32_t retry_after_s)
{
    return std::make_shared<const std::string>(proto::encode(proto::error{
        "rate_limit_exceeded",
        fmt::format("more than {} messages/s (burst {}); message dropped", frontend_message_rate.rate_per_s,
                    frontend_message_rate.burst),
        retry_after_s}));
}
} // namespace

frontend_socket::frontend_socket(app& a, std::unique_ptr<ws_connection> conn, std::string server_id,
                                 std::string_view topic)
    : app_(a), conn_(std::move(conn)), server_id_(std::move(server_id)), topic_(topic), wake_(a.io)
{
}

std::shared_ptr<const std::string> frontend_socket::shared(std::string s)
{
    return std::make_shared<const std::string>(std::move(s));
}

void frontend_socket::send(std::shared_ptr<const std::string> frame)
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

void frontend_socket::send_error(std::string code, std::string message)
{
    send(shared(proto::encode(proto::error{std::move(code), std::move(message), std::nullopt})));
}

void frontend_socket::send_pong() { send(shared(proto::encode(proto::pong{now_unix_ms()}))); }

void frontend_socket::deliver_status(const std::shared_ptr<const std::string>& status_message)
{
    send(status_message);
}

void frontend_socket::close_going_away()
{
    closing_ = true;
    wake_.cancel();
}

net::awaitable<bool> frontend_socket::authenticate()
{
    auto who = co_await read_frontend_login(app_, *conn_);
    if (!who)
        co_return false;
    auto server = co_await app_.store.read([&](storage& s) { return s.find_server(server_id_); });
    if (!server || !*server) {
        log::warn("frontend from {} for server {} refused: no such server", conn_->remote_address(), server_id_);
        co_await refuse_and_close(*conn_, "not_found", "no such server");
        co_return false;
    }
    username_ = who->username;
    stored_last_seen_ms_ = (*server)->last_seen_ms;
    const std::string welcome = proto::encode(proto::auth_success{server_id_, "Connected successfully"});
    auto sent = co_await (conn_->write(welcome) || abort_after(*conn_, write_deadline));
    co_return sent.index() == 0 && !std::get<0>(sent);
}

net::awaitable<void> frontend_socket::run()
{
    const bool authenticated = co_await authenticate();
    if (!authenticated)
        co_return;
    log::info("frontend {} ({}) watching {} of server {}", username_, conn_->remote_address(), topic_, server_id_);
    // Joined to the metrics hub on every socket: status updates, /health's count, closing at
    // shutdown and when the server is deleted.
    app_.hub.join(server_id_, weak_from_this());
    co_await on_joined();
    const bool online = app_.agents.online(server_id_);
    send(shared(proto::encode_status(online, online ? app_.agents.last_seen_ms(server_id_) : stored_last_seen_ms_)));
    co_await (read_loop() || write_loop());
    conn_->abort();
    app_.hub.leave(server_id_, this);
    on_left();
}

net::awaitable<void> frontend_socket::read_loop()
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
        co_await on_message(r.text);
    }
}

net::awaitable<void> frontend_socket::write_loop()
{
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
        } else {
            auto step = next_data();
            if (step.frame) {
                frame = std::move(step.frame);
            } else if (step.not_before) {
                // Throttled: wait until then, or until a control frame (or newer data) arrives.
                wake_.expires_at(*step.not_before);
                co_await wake_.async_wait(use_tuple);
                continue;
            } else {
                co_await wait_for_wake(wake_);
                continue;
            }
        }
        auto sent = co_await (conn_->write(*frame) || abort_after(*conn_, write_deadline));
        if (sent.index() != 0 || std::get<0>(sent)) {
            log::info("frontend {} for server {} stopped taking writes; disconnected", conn_->remote_address(),
                      server_id_);
            conn_->abort();
            co_return;
        }
    }
}

} // namespace corvid::collector
