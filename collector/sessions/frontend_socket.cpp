#include "collector/sessions/frontend_socket.hpp"

#include <utility>

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
// And in bytes (issue 12.8): history messages run to 8 MiB, so 256 of them would be 2 GiB. A
// frontend that leaves this much unread is disconnected, like one that leaves 256 frames.
constexpr std::size_t max_control_bytes = 24 * 1024 * 1024;
// A revoked socket must be gone within 5 s even if its reader stalls: the error frame and the
// close get 2 s each (the identity watch notices within about 1 s).
constexpr auto revoke_step_deadline = std::chrono::seconds(2);

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
    if (control_.size() >= max_control_frames || control_bytes_ + frame->size() > max_control_bytes) {
        log::warn("frontend {} for server {} is not reading ({} frames, {} bytes queued); disconnecting",
                  conn_->remote_address(), server_id_, control_.size(), control_bytes_);
        conn_->abort();
        return;
    }
    control_bytes_ += frame->size();
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

void frontend_socket::revoke(revocation why)
{
    watch_id_ = 0; // the watch dropped the registration before calling
    if (closing_)
        return;
    log::info("frontend {} ({}) watching {} of server {}: closing, {}", username_, conn_->remote_address(), topic_,
              server_id_, revocation_code(why));
    final_frame_ = shared(proto::encode(
        proto::error{std::string(revocation_code(why)), std::string(revocation_message(why)), std::nullopt}));
    close_code_ = close_code::policy_violation;
    close_reason_ = revocation_code(why);
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
    identity_ = watched_identity{who->username, who->token_generation, who->token_expires_at_s, role::viewer};
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
    watch_id_ = app_.identities.watch(identity_, [weak = weak_from_this()](revocation why) {
        if (auto self = weak.lock())
            self->revoke(why);
    });
    co_await on_joined();
    const bool online = app_.agents.online(server_id_);
    send(shared(proto::encode_status(online, online ? app_.agents.last_seen_ms(server_id_) : stored_last_seen_ms_)));
    co_await (read_loop() || write_loop());
    conn_->abort();
    if (watch_id_ != 0)
        app_.identities.unwatch(watch_id_);
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
            close_reason_ = "rate_limit_exceeded";
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
            const auto step = final_frame_ ? std::chrono::steady_clock::duration(revoke_step_deadline)
                                           : std::chrono::steady_clock::duration(write_deadline);
            if (final_frame_) {
                auto last = std::exchange(final_frame_, nullptr);
                co_await (conn_->write(*last) || abort_after(*conn_, step));
            }
            co_await (conn_->close(close_code_, close_reason_) || abort_after(*conn_, step));
            conn_->abort();
            co_return;
        }
        if (!control_.empty()) {
            frame = std::move(control_.front());
            control_.pop_front();
            control_bytes_ -= frame->size();
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
