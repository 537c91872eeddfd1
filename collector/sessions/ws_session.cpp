#include "collector/sessions/ws_session.hpp"

#include <utility>

#include "collector/sessions/refuse.hpp"
#include "common/deadline.hpp"
#include "common/log.hpp"
#include "common/time_format.hpp"
#include "proto/codec.hpp"

namespace corvid::collector {
namespace {
constexpr std::string_view rate_limited_code = "rate_limit_exceeded";

frame_ptr rate_limited_frame(const message_rate_policy& policy, std::uint32_t retry_after_s, bool closing)
{
    return make_frame(proto::encode(proto::error{
        std::string(rate_limited_code),
        fmt::format("more than {} messages/s (burst {}); message dropped{}", policy.rate_per_s, policy.burst,
                    closing ? ", connection closed" : ""),
        retry_after_s}));
}
} // namespace

frame_ptr make_frame(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

ws_session::ws_session(net::any_io_executor ex, std::unique_ptr<ws_connection> conn, connection_group& group,
                       session_limits limits)
    : ex_(ex), conn_(std::move(conn)), limits_(limits), wake_(ex),
      shutdown_hook_(group.on_stop([this] { on_shutdown(); }))
{
}

void ws_session::on_shutdown()
{
    if (!serving_) {
        conn_->abort(); // not authenticated yet: nothing to say to it
        return;
    }
    close(close_code::going_away, "collector shutting down", limits_.at_shutdown);
}

void ws_session::close(std::uint16_t code, std::string reason, close_mode mode, frame_ptr final_frame,
                       std::chrono::seconds step)
{
    if (closing_)
        return;
    closing_ = true;
    close_code_ = code;
    close_reason_ = std::move(reason);
    close_mode_ = mode;
    final_frame_ = std::move(final_frame);
    close_step_ = step;
    wake_.cancel();
}

bool ws_session::fits(const std::string& frame) const
{
    return queue_.size() < limits_.max_frames && queued_bytes_ + frame.size() <= limits_.max_bytes;
}

void ws_session::send(frame_ptr frame)
{
    if (closing_)
        return;
    if (!fits(*frame)) {
        log::warn("{} is not reading ({} frames, {} bytes queued); disconnecting", label_, queue_.size(),
                  queued_bytes_);
        conn_->abort();
        return;
    }
    queued_bytes_ += frame->size();
    queue_.push_back(std::move(frame));
    wake_.cancel();
}

bool ws_session::offer(frame_ptr frame)
{
    if (closing_ || !fits(*frame))
        return false;
    send(std::move(frame));
    return true;
}

void ws_session::send_error(std::string code, std::string message)
{
    send(proto::encode(proto::error{std::move(code), std::move(message), std::nullopt}));
}

void ws_session::send_pong() { send(proto::encode(proto::pong{now_unix_ms()})); }

void ws_session::wake() { wake_.cancel(); }

net::awaitable<std::optional<std::string>> ws_session::read_first_frame(std::chrono::seconds deadline,
                                                                        std::string_view binary_refusal_code,
                                                                        std::string_view binary_refusal_message)
{
    auto first = co_await (conn_->read() || abort_after(*conn_, deadline));
    if (first.index() == 0 && std::get<0>(first).ec == make_error_code(ws_errc::binary_frame)) {
        // A binary first frame is "another first message" (PROTOCOL.md, sections 3 and 4), not a lost link.
        log::warn("{} refused: a binary first frame", label_);
        co_await refuse_and_close(*conn_, binary_refusal_code, binary_refusal_message);
        co_return std::nullopt;
    }
    if (first.index() != 0 || std::get<0>(first).ec) {
        log::info("{} sent no first frame within {} s", label_, deadline.count());
        conn_->abort();
        co_return std::nullopt;
    }
    co_return std::move(std::get<0>(first).text);
}

net::awaitable<bool> ws_session::write_now(std::string_view frame)
{
    serving_ = true; // the peer is accepted: from here on, shutdown closes it politely
    auto sent = co_await (conn_->write(frame) || abort_after(*conn_, limits_.write_deadline));
    if (sent.index() != 0 || std::get<0>(sent)) {
        conn_->abort();
        co_return false;
    }
    co_return true;
}

net::awaitable<void> ws_session::serve()
{
    serving_ = true;
    co_await (read_loop() || write_loop());
    conn_->abort();
}

net::awaitable<void> ws_session::read_loop()
{
    std::optional<message_rate_limiter> rate;
    if (limits_.rate)
        rate.emplace(*limits_.rate, limit_clock::now());
    for (;;) {
        ws_read_result r;
        if (read_deadline_) {
            auto next = co_await (conn_->read() || abort_after(*conn_, *read_deadline_));
            if (next.index() != 0) {
                log::warn("{} sent nothing for {} s; dropping the connection", label_, read_deadline_->count());
                co_return;
            }
            r = std::move(std::get<0>(next));
        } else {
            r = co_await conn_->read();
        }
        if (r.ec && r.ec != make_error_code(ws_errc::binary_frame)) {
            log::debug("{}: read ended: {}", label_, r.ec.message());
            co_return;
        }
        // Closing: nothing more is handled (for an agent, nothing read after a refused sample may
        // be acked: acks are cumulative).
        if (closing_)
            continue;
        if (rate) {
            const auto now = limit_clock::now();
            const auto verdict = rate->on_message(now);
            if (verdict == rate_verdict::close) {
                const auto& policy = *limits_.rate;
                log::warn("{} sends more than {} messages/s (burst {}); closing", label_, policy.rate_per_s, policy.burst);
                close(close_code::policy_violation, std::string(rate_limited_code), limits_.on_rate_close,
                      rate_limited_frame(policy, rate->retry_after_s(now), true));
                continue;
            }
            if (verdict == rate_verdict::drop) {
                send(rate_limited_frame(*limits_.rate, rate->retry_after_s(now), false));
                continue;
            }
        }
        co_await on_frame(r);
    }
}

net::awaitable<void> ws_session::write_loop()
{
    for (;;) {
        if (closing_) {
            co_await write_closing();
            co_return;
        }
        frame_ptr frame;
        if (!queue_.empty()) {
            frame = std::move(queue_.front());
            queue_.pop_front();
            queued_bytes_ -= frame->size();
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
        auto sent = co_await (conn_->write(*frame) || abort_after(*conn_, limits_.write_deadline));
        if (sent.index() != 0 || std::get<0>(sent)) {
            log::info("{} stopped taking writes; disconnected", label_);
            conn_->abort();
            co_return;
        }
    }
}

net::awaitable<void> ws_session::write_closing()
{
    if (close_mode_ == close_mode::drain) {
        while (!queue_.empty()) {
            const frame_ptr frame = queue_.front();
            queue_.pop_front();
            auto sent = co_await (conn_->write(*frame) || abort_after(*conn_, limits_.write_deadline));
            if (sent.index() != 0 || std::get<0>(sent)) {
                conn_->abort();
                co_return;
            }
        }
    }
    queue_.clear();
    queued_bytes_ = 0;
    if (final_frame_) {
        const frame_ptr last = std::exchange(final_frame_, nullptr);
        co_await (conn_->write(*last) || abort_after(*conn_, close_step_));
    }
    co_await (conn_->close(close_code_, close_reason_) || abort_after(*conn_, close_step_));
    conn_->abort();
}

} // namespace corvid::collector
