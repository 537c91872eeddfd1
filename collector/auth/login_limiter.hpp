#pragma once
// A sliding-window counter per key: each key may have at most `max_failures` events within any
// `window` (the times of the last max_failures events are kept, and a key is blocked while all of
// them lie within the window; it is free again when the oldest ages out). login_attempts.hpp
// counts login attempts with two of these (per user, per address); command dispatch counts each
// operator's commands with one. record_success clears a key; release takes back one event.
// Memory is bounded: at most `max_tracked` addresses are remembered. When a new address arrives
// and the table is full, the address whose latest failure is oldest is forgotten (least recently
// failed first). An attacker spraying many addresses can so make us forget old ones early, but can
// never grow memory past the bound.
// Pure (time is passed in, no I/O, no clock reads) and not thread-safe: io thread only.
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace corvid::collector {

class login_limiter {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;

    struct options {
        std::size_t max_failures = 5; // at least 1
        std::chrono::seconds window{300};
        std::size_t max_tracked = 10000; // at least 1
    };

    login_limiter() : login_limiter(options{}) {}
    explicit login_limiter(options o);

    // Set when `address` is blocked: how long until it may try again (rounded up, at least 1 s).
    std::optional<std::chrono::seconds> retry_after(std::string_view address, time_point now) const;
    void record_failure(std::string_view address, time_point now);
    void record_success(std::string_view address);
    // Takes back the one event recorded at `at` (a reserved login attempt that succeeded or was
    // never verified); other events of the key stay. Nothing happens if it is no longer there.
    void release(std::string_view key, time_point at);

    std::size_t tracked() const { return entries_.size(); }

private:
    using lru_list = std::list<std::string>; // least recently failed first
    struct entry {
        std::vector<time_point> failures; // oldest first, at most max_failures
        lru_list::iterator position;
    };
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };

    void forget_expired(time_point now);

    options options_;
    lru_list order_;
    std::unordered_map<std::string, entry, string_hash, std::equal_to<>> entries_;
};

} // namespace corvid::collector
