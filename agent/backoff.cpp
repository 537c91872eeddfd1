// Reconnect backoff policy (see backoff.hpp). Not thread-safe: one instance per uplink, io thread only.
#include "agent/backoff.hpp"

#include <algorithm>
#include <random>
#include <stdexcept>

namespace corvid::agent {
namespace {

backoff::jitter_source default_jitter()
{
    // Not a secret, only needs to differ between hosts; the engine lives inside the function object.
    std::random_device seed;
    return [engine = std::mt19937(seed()), dist = std::uniform_real_distribution<double>(0.0, 1.0)]() mutable {
        return dist(engine);
    };
}

} // namespace

backoff::backoff(jitter_source jitter, std::chrono::milliseconds initial, std::chrono::milliseconds cap)
    : jitter_(jitter ? std::move(jitter) : default_jitter()), initial_(initial), cap_(cap), current_(initial)
{
    if (initial_.count() <= 0 || cap_ < initial_)
        throw std::invalid_argument("backoff: need 0 < initial <= cap");
}

std::chrono::milliseconds backoff::next()
{
    const auto d = current_;
    // Doubling stops at the cap; the comparison avoids overflow for any cap.
    current_ = current_ > cap_ / 2 ? cap_ : current_ * 2;
    // A misbehaving source must not yield a negative delay or one above d.
    const double j = std::clamp(jitter_(), 0.0, 1.0);
    const auto half = d / 2;
    const auto extra = std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>((d - half).count()) * j));
    return half + extra;
}

void backoff::reset() { current_ = initial_; }

} // namespace corvid::agent
