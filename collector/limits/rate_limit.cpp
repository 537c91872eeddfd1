#include "collector/limits/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace corvid::collector {

message_rate_limiter::message_rate_limiter(const message_rate_policy& policy, limit_clock::time_point now)
    : policy_(policy), bucket_(policy.rate_per_s, policy.burst, now)
{
}

rate_verdict message_rate_limiter::on_message(limit_clock::time_point now)
{
    if (bucket_.try_take(now)) {
        // A violation episode ends when the sender has stayed within the limit for a second.
        if (violating_ && now - last_drop_ > std::chrono::seconds(1))
            violating_ = false;
        return rate_verdict::allow;
    }
    if (!violating_ || now - last_drop_ > std::chrono::seconds(1)) {
        violating_ = true;
        violation_start_ = now;
    }
    last_drop_ = now;
    return now - violation_start_ >= policy_.close_after ? rate_verdict::close : rate_verdict::drop;
}

bool connection_limiter::try_open(const std::string& address)
{
    auto& n = open_[address];
    if (n >= max_) {
        if (n == 0)
            open_.erase(address);
        return false;
    }
    ++n;
    return true;
}

void connection_limiter::closed(const std::string& address)
{
    auto it = open_.find(address);
    if (it == open_.end())
        return;
    if (--it->second == 0)
        open_.erase(it);
}

std::size_t connection_limiter::open(const std::string& address) const
{
    auto it = open_.find(address);
    return it == open_.end() ? 0 : it->second;
}

std::optional<std::uint64_t> connection_limiter::refusal_to_log(const std::string& address,
                                                               limit_clock::time_point now)
{
    constexpr auto log_every = std::chrono::minutes(1);
    // Bound the table: a flood from many addresses must not grow it without end.
    if (refused_.size() > 4096)
        std::erase_if(refused_, [&](const auto& kv) { return now - kv.second.logged_at >= log_every; });
    auto [it, fresh] = refused_.try_emplace(address);
    auto& r = it->second;
    if (fresh || now - r.logged_at >= log_every) {
        const auto unlogged = r.since_log;
        r.logged_at = now;
        r.since_log = 0;
        return unlogged;
    }
    ++r.since_log;
    return std::nullopt;
}

} // namespace corvid::collector
