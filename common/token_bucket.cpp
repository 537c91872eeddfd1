#include "common/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace corvid {

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

double token_bucket::available(limit_clock::time_point now)
{
    refill(now);
    return tokens_;
}

limit_clock::duration token_bucket::wait_for(double tokens, limit_clock::time_point now)
{
    refill(now);
    if (tokens_ >= tokens)
        return limit_clock::duration::zero();
    return std::chrono::duration_cast<limit_clock::duration>(
        std::chrono::duration<double>((tokens - tokens_) / rate_per_s_));
}

std::uint32_t token_bucket::retry_after_s(limit_clock::time_point now)
{
    refill(now);
    if (tokens_ >= 1.0)
        return 1;
    const double wait = std::ceil((1.0 - tokens_) / rate_per_s_);
    return static_cast<std::uint32_t>(std::max(1.0, wait));
}

} // namespace corvid
