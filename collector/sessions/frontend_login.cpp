#include "collector/sessions/frontend_login.hpp"

#include "collector/sessions/refuse.hpp"
#include "common/deadline.hpp"
#include "common/log.hpp"
#include "proto/codec.hpp"

namespace corvid::collector {
namespace {
constexpr auto auth_deadline = std::chrono::seconds(10);
} // namespace

net::awaitable<std::optional<principal>> read_frontend_login(app& a, ws_connection& conn)
{
    auto first = co_await (conn.read() || abort_after(conn, auth_deadline));
    if (first.index() == 0 && std::get<0>(first).ec == make_error_code(ws_errc::binary_frame)) {
        // A binary first frame is "another first message" (PROTOCOL.md, section 4), not a lost link.
        log::warn("frontend from {} refused: a binary first frame", conn.remote_address());
        co_await refuse_and_close(conn, "auth_failed", "the first frame must be {\"type\":\"auth\",\"token\":\"…\"}");
        co_return std::nullopt;
    }
    if (first.index() != 0 || std::get<0>(first).ec) {
        conn.abort();
        co_return std::nullopt;
    }
    auto msg = proto::decode_from_frontend(std::get<0>(first).text);
    auto* auth = msg ? std::get_if<proto::frontend_auth>(&*msg) : nullptr;
    if (!auth) {
        log::warn("frontend from {} refused: the first frame was not auth", conn.remote_address());
        co_await refuse_and_close(conn, "auth_failed", "the first frame must be {\"type\":\"auth\",\"token\":\"…\"}");
        co_return std::nullopt;
    }
    auto outcome = co_await authenticate_token(a, auth->token);
    if (!outcome.who) {
        log::info("frontend token from {} refused: {}", conn.remote_address(), outcome.why);
        co_await refuse_and_close(conn, "auth_failed", "invalid or expired token");
        co_return std::nullopt;
    }
    co_return std::move(outcome.who);
}

} // namespace corvid::collector
