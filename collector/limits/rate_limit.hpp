#pragma once
// Per-connection message rate limits and per-address connection limits (PROTOCOL.md, sections
// 7 and 8): pure policy classes with no I/O, given the time by the caller, so they are unit-tested
// without sockets or sleeps (tests/collector/rate_limit_test.cpp).
// Not thread-safe: each instance belongs to one session or to the listener (io thread).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/token_bucket.hpp"

namespace corvid::collector {

using corvid::limit_clock;
using corvid::token_bucket;

struct message_rate_policy {
    double rate_per_s;
    double burst;
    // Dropped messages over this long, with no gap of more than a second between drops, close the
    // connection. Zero: the first message over the limit closes it.
    std::chrono::milliseconds close_after;
};

// Agents: 50 messages/s sustained, bursts of 1000. Agents pace themselves below it (45/s, bursts of
// 200, agent/uplink.hpp), backlog replay included; a healthy agent sends about one frame per
// interval and stream. Over the limit the connection is closed at once: acks are cumulative, so
// dropping one message and acking a later one would lose it for good, while a closed connection
// makes the agent resend everything unacknowledged.
inline constexpr message_rate_policy agent_message_rate{50, 1000, std::chrono::milliseconds(0)};
// Frontends send a subscribe now and then and a ping per idle period: 20/s with bursts of 50 is
// far above any UI. Over the limit the message is dropped; 5 s of continuous violation closes.
inline constexpr message_rate_policy frontend_message_rate{20, 50, std::chrono::seconds(5)};

enum class rate_verdict {
    allow, // handle the message
    drop,  // answer rate_limit_exceeded and drop the message
    close, // answer rate_limit_exceeded and close the connection (1008)
};

class message_rate_limiter {
public:
    message_rate_limiter(const message_rate_policy& policy, limit_clock::time_point now);
    rate_verdict on_message(limit_clock::time_point now);
    std::uint32_t retry_after_s(limit_clock::time_point now) { return bucket_.retry_after_s(now); }

private:
    message_rate_policy policy_;
    token_bucket bucket_;
    bool violating_ = false;
    limit_clock::time_point violation_start_{}, last_drop_{};
};

// Concurrent connections per source address, and rate-limited logging of refusals (one line per
// address per minute). The table holds only addresses with open connections, plus refusal log
// times that are pruned once they are a minute old.
class connection_limiter {
public:
    explicit connection_limiter(std::size_t max_per_address) : max_(max_per_address) {}
    // True (and counted) if `address` may open another connection.
    bool try_open(const std::string& address);
    void closed(const std::string& address);
    // Counts a refusal of `address`. Returns, when a log line is due (the first refusal, then at
    // most one a minute), how many refusals went unlogged since the previous line.
    std::optional<std::uint64_t> refusal_to_log(const std::string& address, limit_clock::time_point now);
    std::size_t open(const std::string& address) const;

private:
    struct refusals {
        limit_clock::time_point logged_at;
        std::uint64_t since_log = 0;
    };
    std::size_t max_;
    std::unordered_map<std::string, std::size_t> open_;
    std::unordered_map<std::string, refusals> refused_;
};

// One counted connection: gives its place back to the limiter when destroyed. Holds the limiter
// by shared_ptr, so a connection's coroutine frame may outlive the listener that made it.
class connection_slot {
public:
    connection_slot() = default;
    connection_slot(std::shared_ptr<connection_limiter> limiter, std::string address)
        : limiter_(std::move(limiter)), address_(std::move(address))
    {
    }
    connection_slot(connection_slot&& o) noexcept : limiter_(std::move(o.limiter_)), address_(std::move(o.address_)) {}
    connection_slot& operator=(connection_slot&&) = delete;
    connection_slot(const connection_slot&) = delete;
    ~connection_slot()
    {
        if (limiter_)
            limiter_->closed(address_);
    }

private:
    std::shared_ptr<connection_limiter> limiter_;
    std::string address_;
};

} // namespace corvid::collector
