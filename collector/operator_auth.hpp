#pragma once
// Who an operator's bearer token belongs to. The token's signature and expiry are checked first;
// then the user is looked up, and the role comes from the database, not the token, so a deleted
// or demoted user loses access at once rather than when the token expires. A disabled user's
// tokens, and tokens whose generation ("gen") is not the user's stored one (revoked by logout, a
// password or role change, or a disable), are refused the same way.
// io thread only.
#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

#include "collector/app.hpp"

namespace corvid::collector {

struct principal {
    std::string username;
    collector::role role = role::viewer;
    std::int64_t token_generation = 0; // of the token presented (equal to the stored one)
    std::int64_t token_expires_at_s = 0;
};

struct auth_outcome {
    std::optional<principal> who;
    std::string why; // for the log when who is empty; never contains the token
};

net::awaitable<auth_outcome> authenticate_token(app& a, std::string_view token);

} // namespace corvid::collector
