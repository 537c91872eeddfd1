// Link liveness policy (see liveness.hpp). Not thread-safe: one instance per connection, io thread only.
#include "agent/liveness.hpp"

#include <algorithm>
#include <stdexcept>

namespace corvid::agent {
namespace {
// last_ping_ holds this while no ping has been sent since the last receipt.
constexpr liveness::clock::time_point no_ping = liveness::clock::time_point::min();
constexpr int dead_after_intervals = 3;
} // namespace

// The connection just came up (and authenticated), which counts as hearing from the collector.
liveness::liveness(std::chrono::milliseconds interval, clock::time_point now)
    : interval_(interval), last_received_(now), last_ping_(no_ping)
{
    if (interval_.count() <= 0)
        throw std::invalid_argument("liveness: interval must be positive");
}

void liveness::on_received(clock::time_point now)
{
    last_received_ = std::max(last_received_, now);
    last_ping_ = no_ping;
}

void liveness::on_ping_sent(clock::time_point now) { last_ping_ = now; }

liveness::verdict liveness::check(clock::time_point now) const
{
    const auto quiet = now - last_received_;
    if (quiet >= dead_after_intervals * interval_)
        return verdict::dead;
    if (quiet < interval_)
        return verdict::alive;
    // Quiet for at least one interval: ping once, and again each interval the quiet goes on.
    if (last_ping_ == no_ping || now - last_ping_ >= interval_)
        return verdict::send_ping;
    return verdict::alive;
}

liveness::clock::time_point liveness::next_check(clock::time_point now) const
{
    const auto dead_at = last_received_ + dead_after_intervals * interval_;
    auto ping_at = last_received_ + interval_;
    if (last_ping_ != no_ping)
        ping_at = std::max(ping_at, last_ping_ + interval_);
    // A verdict other than alive is due now: the caller acts on it, then asks again.
    return std::max(now, std::min(ping_at, dead_at));
}

} // namespace corvid::agent
