#include "collector/sessions/command_session.hpp"

#include "collector/sessions/frontend_login.hpp"
#include "collector/sessions/refuse.hpp"
#include "common/deadline.hpp"
#include "common/log.hpp"
#include "common/time_format.hpp"
#include "proto/codec.hpp"

namespace corvid::collector {
namespace {
constexpr auto write_deadline = std::chrono::seconds(10);
// A revoked watcher must be gone within 5 s even if it stalls: error frame and close, 2 s each.
constexpr auto revoke_step_deadline = std::chrono::seconds(2);

std::shared_ptr<const std::string> shared(std::string s) { return std::make_shared<const std::string>(std::move(s)); }
} // namespace

command_session::command_session(app& a, std::unique_ptr<ws_connection> conn, std::string command_id)
    : app_(a), conn_(std::move(conn)), command_id_(std::move(command_id)), wake_(a.io)
{
}

void command_session::deliver(std::shared_ptr<const std::string> frame)
{
    if (queue_.size() >= max_queued_frames) {
        log::warn("command watcher {} for {} is not reading; disconnecting", conn_->remote_address(), command_id_);
        conn_->abort();
        return;
    }
    queue_.push_back(std::move(frame));
    wake_.cancel();
}

void command_session::command_ended()
{
    ended_ = true;
    wake_.cancel();
}

// A command that is no longer in flight: its stored outcome, in the same frames a live one ends with.
void command_session::send_stored(const command_record& c)
{
    if (!c.output.empty())
        deliver(shared(proto::encode(proto::command_output{c.id, "stdout", c.output})));
    if (c.kind == "docker") {
        proto::docker_response r{c.id, c.status == "completed", c.output, std::nullopt};
        if (c.status == "denied" || c.status == "lost")
            r.error = c.status;
        deliver(shared(proto::encode(r)));
    } else {
        proto::command_response r;
        r.command_id = c.id;
        r.output = c.output;
        r.exit_code = c.exit_code.value_or(-1);
        r.duration_ms = c.duration_ms.value_or(0);
        r.truncated = c.truncated;
        r.timed_out = c.status == "timed_out";
        if (c.status == "denied" || c.status == "lost")
            r.error = c.status;
        if (c.error)
            r.message = *c.error;
        deliver(shared(proto::encode(r)));
    }
    command_ended();
}

net::awaitable<bool> command_session::authenticate()
{
    auto who = co_await read_frontend_login(app_, *conn_);
    if (!who)
        co_return false;
    auto found = co_await app_.store.read([&](storage& s) { return s.find_command(command_id_); });
    if (!found) {
        co_await refuse_and_close(*conn_, "internal_error", "storage unavailable, try again later");
        co_return false;
    }
    // The same answer for "no such command" and "not yours": ids of others' commands stay private.
    if (!*found || ((*found)->issued_by != who->username && who->role != role::admin)) {
        log::warn("user '{}' from {} may not watch command {}", who->username, conn_->remote_address(),
                  command_id_);
        co_await refuse_and_close(*conn_, "not_found", "no such command");
        co_return false;
    }
    // Watching someone else's command needs admin for as long as the socket is open.
    identity_ = watched_identity{who->username, who->token_generation, who->token_expires_at_s,
                                 (*found)->issued_by == who->username ? role::viewer : role::admin};
    const std::string welcome = proto::encode(proto::auth_success{(*found)->server_id, "Connected successfully"});
    auto sent = co_await (conn_->write(welcome) || abort_after(*conn_, write_deadline));
    if (sent.index() != 0 || std::get<0>(sent))
        co_return false;
    if (!app_.commands.watch(command_id_, shared_from_this())) {
        // No longer in flight. It may have ended after `found` was read, and its outcome may not
        // be committed yet (the tracker lets go of a command before its record is written): a
        // record still pending or running is read again until it is final.
        const command_record& first = **found; // a named argument: README, GCC 12 and coroutines
        auto settled = co_await settled_record(first);
        send_stored(settled);
    }
    co_return true;
}

net::awaitable<command_record> command_session::settled_record(const command_record& first)
{
    command_record c = first;
    constexpr auto retry = std::chrono::milliseconds(100);
    constexpr int max_tries = 50; // 5 s: a finished command's record is written within milliseconds
    net::steady_timer timer(app_.io);
    for (int i = 0; i < max_tries && (c.status == "pending" || c.status == "running"); ++i) {
        timer.expires_after(retry);
        co_await timer.async_wait(use_tuple);
        auto again = co_await app_.store.read([&](storage& s) { return s.find_command(command_id_); });
        if (again && *again)
            c = std::move(**again);
    }
    co_return c;
}

net::awaitable<void> command_session::run()
{
    const bool authenticated = co_await authenticate();
    if (!authenticated)
        co_return;
    watch_id_ = app_.identities.watch(identity_, [weak = weak_from_this()](revocation why) {
        if (auto self = weak.lock())
            self->revoke(why);
    });
    co_await (read_loop() || write_loop());
    conn_->abort();
    if (watch_id_ != 0)
        app_.identities.unwatch(watch_id_);
}

void command_session::revoke(revocation why)
{
    watch_id_ = 0; // the watch dropped the registration before calling
    log::info("command watcher {} ({}) of {}: closing, {}", identity_.username, conn_->remote_address(), command_id_,
              revocation_code(why));
    revoked_code_ = revocation_code(why);
    revoked_frame_ = shared(proto::encode(
        proto::error{std::string(revocation_code(why)), std::string(revocation_message(why)), std::nullopt}));
    wake_.cancel();
}

net::awaitable<void> command_session::read_loop()
{
    for (;;) {
        auto r = co_await conn_->read();
        if (r.ec == make_error_code(ws_errc::binary_frame))
            continue;
        if (r.ec)
            co_return;
        auto msg = proto::decode_from_frontend(r.text);
        if (msg && std::holds_alternative<proto::ping>(*msg))
            deliver(shared(proto::encode(proto::pong{now_unix_ms()})));
    }
}

net::awaitable<void> command_session::write_loop()
{
    for (;;) {
        if (revoked_frame_) {
            // What was queued is no longer for this user: only the error goes out.
            co_await (conn_->write(*revoked_frame_) || abort_after(*conn_, revoke_step_deadline));
            co_await (conn_->close(close_code::policy_violation, revoked_code_)
                      || abort_after(*conn_, revoke_step_deadline));
            conn_->abort();
            co_return;
        }
        if (!queue_.empty()) {
            const auto frame = queue_.front();
            queue_.pop_front();
            auto sent = co_await (conn_->write(*frame) || abort_after(*conn_, write_deadline));
            if (sent.index() != 0 || std::get<0>(sent)) {
                conn_->abort();
                co_return;
            }
        } else if (ended_ || app_.shutting_down) {
            co_await (conn_->close(close_code::normal, "command ended") || abort_after(*conn_, write_deadline));
            conn_->abort();
            co_return;
        } else {
            co_await wait_for_wake(wake_);
        }
    }
}

} // namespace corvid::collector
