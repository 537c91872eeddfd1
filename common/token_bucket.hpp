#pragma once
// A token bucket: `burst` tokens when full, refilled at `rate_per_s`; one message costs one token.
// The collector limits what peers send with it (collector/limits/rate_limit.hpp); the agent paces
// its own sending with it so it never trips the collector's limit (agent/uplink.cpp).
// Pure: the caller passes the time. Not thread-safe.
#include <chrono>
#include <cstdint>

namespace corvid {

using limit_clock = std::chrono::steady_clock;

class token_bucket {
public:
    token_bucket(double rate_per_s, double burst, limit_clock::time_point now);
    // Takes a token if there is one.
    bool try_take(limit_clock::time_point now);
    // Tokens available now (fractional).
    double available(limit_clock::time_point now);
    // How long until `tokens` are available (zero if they are now).
    limit_clock::duration wait_for(double tokens, limit_clock::time_point now);
    // Whole seconds until a token is available: at least 1 (a "retry_after" of 0 would invite a spin).
    std::uint32_t retry_after_s(limit_clock::time_point now);

private:
    void refill(limit_clock::time_point now);

    double rate_per_s_, burst_, tokens_;
    limit_clock::time_point last_;
};

} // namespace corvid
