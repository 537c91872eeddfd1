#pragma once
// Ending a WebSocket session that failed authentication: one error frame, then a close with 1008,
// each step bounded so a peer that stops reading cannot hold the session open.
// io thread only.
#include <string_view>

#include "common/ws_connection.hpp"

namespace corvid::collector {

// Views, not strings: see "GCC 12 and coroutines" in README.
net::awaitable<void> refuse_and_close(ws_connection& conn, std::string_view code, std::string_view message);

} // namespace corvid::collector
