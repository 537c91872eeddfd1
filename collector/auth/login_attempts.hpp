#pragma once
// Limits password guessing (README, "Identity and secrets"). Every login attempt is counted twice:
// against its username and against its source address (an IPv4 address, or the /64 of an IPv6
// one: see address_key). The attempt is RESERVED before the password is verified, so parallel
// guesses are counted before any of them is checked: a pending attempt counts as a failure until
// it succeeds. A success takes back only its own reservation; it never clears failures, neither
// its user's nor its address's, so one user's success cannot unblock another's guesses.
// Limits: at most max_per_user failures per username and max_per_address per address within the
// sliding window; beyond either, begin() refuses with the wait (429 with Retry-After).
// Trade-off (written down in README): counting per username lets anyone lock a user out of
// password login for up to `window` by guessing wrong; the address limit cannot stop a guesser
// who spreads over many addresses, the username limit can.
// Memory: at most max_tracked usernames and max_tracked addresses (least recently failed forgotten
// first, see login_limiter.hpp).
// Pure (time passed in) and not thread-safe: io thread only.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "collector/auth/login_limiter.hpp"

namespace corvid::collector {

// The key an address is counted under: IPv4 as is ("203.0.113.7"), an IPv4-mapped IPv6 address as
// its IPv4 form, any other IPv6 address as its /64 ("2001:db8:1:2::/64"), since one host usually
// owns a whole /64 and could otherwise rotate through 2^64 addresses. Text that is not an address
// is used as it is.
std::string login_address_key(std::string_view address);

class login_attempts {
public:
    using clock = login_limiter::clock;
    using time_point = login_limiter::time_point;

    struct options {
        std::size_t max_per_user = 5;
        std::size_t max_per_address = 20;
        std::chrono::seconds window{900};
        std::size_t max_tracked = 10000; // per table (usernames, addresses)
    };

    // One reserved attempt; hand it back to succeeded() or failed().
    struct ticket {
        std::string user_key, address_key;
        time_point at;
    };

    login_attempts() : login_attempts(options{}) {}
    explicit login_attempts(options o);

    // Reserves an attempt of `username` from `address` (a peer address; keyed by
    // login_address_key), or says how long to wait (at least 1 s) when either is blocked.
    std::variant<ticket, std::chrono::seconds> begin(std::string_view username, std::string_view address,
                                                     time_point now);
    // The password was right: this attempt no longer counts. Nothing else is cleared.
    void succeeded(const ticket& t);
    // The attempt was never verified (e.g. the hashing pool was full): it does not count.
    void abandoned(const ticket& t) { succeeded(t); }
    // The password was wrong: the reservation stays as the failure it already counted as.
    void failed(const ticket&) {}

private:
    login_limiter users_, addresses_;
};

} // namespace corvid::collector
