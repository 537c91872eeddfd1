#include "collector/sessions/command_session.hpp"

#include "collector/sessions/frontend_login.hpp"
#include "collector/sessions/frontend_socket.hpp"
#include "collector/sessions/refuse.hpp"
#include "common/deadline.hpp"
#include "common/log.hpp"
#include "common/time_format.hpp"
#include "proto/codec.hpp"

namespace corvid::collector {
namespace {
// A command's output comes in many small frames: 4096 of them.
constexpr session_limits watcher_limits = operator_socket_limits(4096);
} // namespace

command_session::command_session(app& a, std::unique_ptr<ws_connection> conn, std::string command_id)
    : ws_session(a.io, std::move(conn), a.connections, watcher_limits), app_(a), command_id_(std::move(command_id))
{
    set_label(fmt::format("command watcher {} for {}", connection().remote_address(), command_id_));
}

void command_session::deliver(std::shared_ptr<const std::string> frame) { send(std::move(frame)); }

void command_session::command_ended() { close(close_code::normal, "command ended", close_mode::drain); }

// A command that is no longer in flight: its stored outcome, in the same frames a live one ends with.
void command_session::send_stored(const command_record& c)
{
    if (!c.output.empty())
        deliver(make_frame(proto::encode(proto::command_output{c.id, "stdout", c.output})));
    if (c.kind == "docker") {
        proto::docker_response r{c.id, c.status == "completed", c.output, std::nullopt};
        if (c.status == "denied" || c.status == "lost")
            r.error = c.status;
        deliver(make_frame(proto::encode(r)));
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
        deliver(make_frame(proto::encode(r)));
    }
    command_ended();
}

net::awaitable<bool> command_session::authenticate()
{
    auto who = co_await read_frontend_login(app_, connection());
    if (!who)
        co_return false;
    auto found = co_await app_.store.read([&](storage& s) { return s.find_command(command_id_); });
    if (!found) {
        co_await refuse_and_close(connection(), "internal_error", "storage unavailable, try again later");
        co_return false;
    }
    // The same answer for "no such command" and "not yours": ids of others' commands stay private.
    if (!*found || ((*found)->issued_by != who->username && who->role != role::admin)) {
        log::warn("user '{}' from {} may not watch command {}", who->username, connection().remote_address(),
                  command_id_);
        co_await refuse_and_close(connection(), "not_found", "no such command");
        co_return false;
    }
    // Watching someone else's command needs admin for as long as the socket is open.
    identity_ = watched_identity{who->username, who->token_generation, who->token_expires_at_s,
                                 (*found)->issued_by == who->username ? role::viewer : role::admin};
    const std::string welcome = proto::encode(proto::auth_success{(*found)->server_id, "Connected successfully"});
    const bool sent = co_await write_now(welcome);
    if (!sent)
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
    net::steady_timer timer(executor());
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
    co_await serve();
    if (watch_id_ != 0)
        app_.identities.unwatch(watch_id_);
}

void command_session::revoke(revocation why)
{
    watch_id_ = 0; // the watch dropped the registration before calling
    log::info("command watcher {} ({}) of {}: closing, {}", identity_.username, connection().remote_address(),
              command_id_, revocation_code(why));
    close_revoked(*this, why); // what was queued is no longer for this user: only the error goes out
}

net::awaitable<void> command_session::on_frame(ws_read_result& r)
{
    if (r.ec) // binary: nothing this socket reads is binary
        co_return;
    auto msg = proto::decode_from_frontend(r.text);
    if (msg && std::holds_alternative<proto::ping>(*msg))
        send_pong();
    co_return;
}

} // namespace corvid::collector
