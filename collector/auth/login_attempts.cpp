#include "collector/auth/login_attempts.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>

namespace corvid::collector {

std::string login_address_key(std::string_view address)
{
    std::string text(address);
    in6_addr v6{};
    if (::inet_pton(AF_INET6, text.c_str(), &v6) != 1)
        return text; // IPv4 (or not an address): as it is
    char buf[INET6_ADDRSTRLEN] = {};
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        in_addr v4{};
        std::memcpy(&v4, &v6.s6_addr[12], 4);
        return ::inet_ntop(AF_INET, &v4, buf, sizeof buf) ? std::string(buf) : text;
    }
    std::memset(&v6.s6_addr[8], 0, 8);
    if (!::inet_ntop(AF_INET6, &v6, buf, sizeof buf))
        return text;
    return std::string(buf) + "/64";
}

login_attempts::login_attempts(options o)
    : users_({.max_failures = o.max_per_user, .window = o.window, .max_tracked = o.max_tracked}),
      addresses_({.max_failures = o.max_per_address, .window = o.window, .max_tracked = o.max_tracked})
{
}

std::variant<login_attempts::ticket, std::chrono::seconds>
login_attempts::begin(std::string_view username, std::string_view address, time_point now)
{
    // User names are at most 64 bytes (names.hpp): a longer one cannot exist, and its prefix is
    // key enough (and bounds memory).
    constexpr std::size_t longest_key = 65;
    ticket t{std::string(username.substr(0, longest_key)), login_address_key(address), now};
    const auto user_wait = users_.retry_after(t.user_key, now);
    const auto address_wait = addresses_.retry_after(t.address_key, now);
    if (user_wait || address_wait)
        return std::max(user_wait.value_or(std::chrono::seconds(0)), address_wait.value_or(std::chrono::seconds(0)));
    users_.record_failure(t.user_key, now);
    addresses_.record_failure(t.address_key, now);
    return t;
}

void login_attempts::succeeded(const ticket& t)
{
    users_.release(t.user_key, t.at);
    addresses_.release(t.address_key, t.at);
}

} // namespace corvid::collector
