#include "collector/sessions/refuse.hpp"

#include "common/deadline.hpp"
#include "proto/codec.hpp"

namespace corvid::collector {

net::awaitable<void> refuse_and_close(ws_connection& conn, std::string_view code, std::string_view message)
{
    constexpr auto step_deadline = std::chrono::seconds(5);
    const std::string frame = proto::encode(proto::error{std::string(code), std::string(message), std::nullopt});
    co_await (conn.write(frame) || abort_after(conn, step_deadline));
    co_await (conn.close(close_code::policy_violation, code) || abort_after(conn, step_deadline));
    conn.abort();
}

} // namespace corvid::collector
