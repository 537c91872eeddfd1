#include "collector/operator_auth.hpp"

#include "collector/auth/jwt.hpp"
#include "common/time_format.hpp"

namespace corvid::collector {

net::awaitable<auth_outcome> authenticate_token(app& a, std::string_view token)
{
    auto claims = verify_token(a.token_secret, token, now_unix_ms() / 1000);
    if (!claims)
        co_return auth_outcome{std::nullopt, "invalid token: " + claims.error().message};
    const std::string username = claims->subject;
    auto user = co_await a.store.read([&](storage& s) { return s.find_user(username); });
    if (!user)
        co_return auth_outcome{std::nullopt, "user lookup failed: " + user.error().message()};
    if (!*user)
        co_return auth_outcome{std::nullopt, "token for unknown user '" + username + "'"};
    if ((*user)->disabled)
        co_return auth_outcome{std::nullopt, "token for disabled user '" + username + "'"};
    if ((*user)->token_generation != claims->generation)
        co_return auth_outcome{std::nullopt, "revoked token of user '" + username + "'"};
    co_return auth_outcome{principal{(*user)->username, (*user)->role, claims->generation, claims->expires_at_s}, {}};
}

} // namespace corvid::collector
