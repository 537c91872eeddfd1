#include "collector/limits/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace corvid::collector {

token_bucket::token_bucket(double rate_per_s, double burst, limit_clock::time_point now)
    : rate_per_s_(rate_per_s), burst_(burst), tokens_(burst), last_(now)
{
}

void token_bucket::refill(limit_clock::time_point now)
{
    if (now <= last_)
        return;
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_per_s_);
    last_ = now;
}

bool token_bucket::try_take(limit_clock::time_point now)
{
    refill(now);
    if (tokens_ < 1.0)
        return false;
    tokens_ -= 1.0;
    return true;
}

std::uint32_t token_bucket::retry_after_s(limit_clock::time_point now)
{
    refill(now);
    if (tokens_ >= 1.0)
        return 1;
    const double wait = std::ceil((1.0 - tokens_) / rate_per_s_);
    return static_cast<std::uint32_t>(std::max(1.0, wait));
}

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
