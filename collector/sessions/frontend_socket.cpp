#include "collector/sessions/frontend_socket.hpp"

#include <utility>

#include "collector/sessions/frontend_login.hpp"
#include "collector/sessions/refuse.hpp"
#include "common/log.hpp"
#include "proto/codec.hpp"

namespace corvid::collector {
void close_revoked(ws_session& s, revocation why)
{
    s.close(close_code::policy_violation, std::string(revocation_code(why)), close_mode::drop,
            make_frame(proto::encode(
                proto::error{std::string(revocation_code(why)), std::string(revocation_message(why)), std::nullopt})),
            std::chrono::seconds(2));
}

frontend_socket::frontend_socket(app& a, std::unique_ptr<ws_connection> conn, std::string server_id,
                                 std::string_view topic)
    : ws_session(a.io, std::move(conn), a.connections, operator_socket_limits(256)), app_(a), server_id_(std::move(server_id)),
      topic_(topic)
{
    set_label(fmt::format("frontend {} for server {}", connection().remote_address(), server_id_));
}

void frontend_socket::deliver_status(const std::shared_ptr<const std::string>& status_message)
{
    send(status_message);
}

void frontend_socket::close_server_deleted()
{
    log::info("{} ({}): closing, the server was deleted", label(), topic_);
    close(close_code::policy_violation, "server deleted", close_mode::drop,
          make_frame(proto::encode(proto::error{"not_found", "the server was deleted", std::nullopt})));
}

void frontend_socket::revoke(revocation why)
{
    watch_id_ = 0; // the watch dropped the registration before calling
    if (closing())
        return;
    log::info("frontend {} ({}) watching {} of server {}: closing, {}", username_, connection().remote_address(),
              topic_, server_id_, revocation_code(why));
    close_revoked(*this, why);
}

net::awaitable<bool> frontend_socket::authenticate()
{
    auto who = co_await read_frontend_login(app_, connection());
    if (!who)
        co_return false;
    auto server = co_await app_.store.read([&](storage& s) { return s.find_server(server_id_); });
    if (!server || !*server) {
        log::warn("frontend from {} for server {} refused: no such server", connection().remote_address(),
                  server_id_);
        co_await refuse_and_close(connection(), "not_found", "no such server");
        co_return false;
    }
    username_ = who->username;
    identity_ = watched_identity{who->username, who->token_generation, who->token_expires_at_s, role::viewer};
    stored_last_seen_ms_ = (*server)->last_seen_ms;
    const std::string welcome = proto::encode(proto::auth_success{server_id_, "Connected successfully"});
    co_return co_await write_now(welcome);
}

net::awaitable<void> frontend_socket::run()
{
    const bool authenticated = co_await authenticate();
    if (!authenticated)
        co_return;
    log::info("frontend {} ({}) watching {} of server {}", username_, connection().remote_address(), topic_,
              server_id_);
    app_.presence.join(server_id_, weak_from_this());
    watch_id_ = app_.identities.watch(identity_, [weak = weak_from_this()](revocation why) {
        if (auto self = weak.lock())
            self->revoke(why);
    });
    co_await on_joined();
    const bool online = app_.agents.online(server_id_);
    send(proto::encode_status(online, online ? app_.agents.last_seen_ms(server_id_) : stored_last_seen_ms_));
    co_await serve();
    if (watch_id_ != 0)
        app_.identities.unwatch(watch_id_);
    app_.presence.leave(server_id_, this);
    on_left();
}

net::awaitable<void> frontend_socket::on_frame(ws_read_result& r)
{
    if (r.ec) { // a binary frame
        send_error("invalid_message", r.ec.message());
        co_return;
    }
    co_await on_message(r.text);
}

} // namespace corvid::collector
