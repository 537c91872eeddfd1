#pragma once
// Who an operator's bearer token belongs to. The token's signature and expiry are checked first;
// then the user is looked up, and the role comes from the database, not the token, so a deleted
// or demoted user loses access at once rather than when the token expires.
// io thread only.
#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

#include "collector/app.hpp"

namespace corvid::collector {

struct principal {
    std::string username;
    collector::role role = role::viewer;
};

struct auth_outcome {
    std::optional<principal> who;
    std::string why; // for the log when who is empty; never contains the token
};

net::awaitable<auth_outcome> authenticate_token(app& a, std::string_view token);

} // namespace corvid::collector
