#pragma once
// The first frame of every operator socket (metrics, logs, commands): {"type":"auth","token":…}
// within 10 s, with a token that authenticate_token accepts. A missing, late or wrong first frame
// ends the socket (error auth_failed, close 1008) and yields nothing.
// io thread only.
#include <boost/asio/awaitable.hpp>
#include <optional>

#include "collector/app.hpp"
#include "collector/operator_auth.hpp"
#include "common/ws_connection.hpp"

namespace corvid::collector {

net::awaitable<std::optional<principal>> read_frontend_login(app& a, ws_connection& conn);

} // namespace corvid::collector
