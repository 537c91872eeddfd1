#include "agent/logs/rate_limiter.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <utility>

#include "agent/logs/message_text.hpp"

namespace corvid::agent::logs {
namespace {
constexpr std::int64_t burst_factor = 2;
constexpr std::int64_t one_token = 1000;
constexpr std::int64_t report_after_ms = 1000;
} // namespace

rate_limiter::rate_limiter(std::uint32_t per_s)
    : per_s_(std::max<std::uint32_t>(per_s, 1))
{
    capacity_ = burst_factor * per_s_ * one_token;
    millitokens_ = capacity_;
}

void rate_limiter::refill(std::int64_t now_ms)
{
    if (!started_) {
        started_ = true;
        last_refill_ms_ = now_ms;
        return;
    }
    // A clock stepped backwards adds nothing rather than taking tokens away.
    // Capped before multiplying: a long quiet spell fills the bucket and cannot overflow.
    const auto elapsed = std::clamp<std::int64_t>(now_ms - last_refill_ms_, 0, capacity_);
    // per_s tokens a second are per_s thousandths of a token a millisecond.
    millitokens_ = std::min(capacity_, millitokens_ + elapsed * per_s_);
    last_refill_ms_ = std::max(last_refill_ms_, now_ms);
}

bool rate_limiter::admit(std::int64_t now_ms)
{
    refill(now_ms);
    if (millitokens_ >= one_token) {
        millitokens_ -= one_token;
        return true;
    }
    if (dropped_++ == 0)
        first_drop_ms_ = now_ms;
    return false;
}

std::optional<std::uint64_t> rate_limiter::take_report(std::int64_t now_ms)
{
    if (dropped_ == 0)
        return std::nullopt;
    refill(now_ms);
    if (millitokens_ < one_token && now_ms - first_drop_ms_ < report_after_ms)
        return std::nullopt;
    return std::exchange(dropped_, 0);
}

proto::log_entry drop_report(std::string_view source, std::uint64_t dropped, std::uint32_t per_s, std::int64_t now_ms,
                             std::size_t max_message_bytes)
{
    proto::log_entry e;
    e.timestamp_ms = now_ms;
    e.level = "WARN";
    e.source = std::string(source);
    auto text = clean_message(fmt::format("{} lines dropped from {} (rate limit {}/s)", dropped, source, per_s),
                              max_message_bytes);
    e.message = std::move(text.text);
    e.truncated = text.truncated;
    return e;
}

} // namespace corvid::agent::logs
