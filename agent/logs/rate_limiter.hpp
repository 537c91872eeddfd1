#pragma once
// The per-source rate limit of log lines: a token bucket (rate R lines per second, bursts of 2R)
// that counts what it refuses, so a drop is reported once as "N lines dropped from SOURCE (rate
// limit R/s)" instead of passing silently. Times are the caller's milliseconds (the log reader's
// now_ms), so tests drive it without a clock. Pure; one source's reader thread.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proto/messages.hpp"

namespace corvid::agent::logs {

class rate_limiter {
public:
    explicit rate_limiter(std::uint32_t per_s);

    // True, using one token, when a line may pass at now_ms; false counts it as dropped.
    bool admit(std::int64_t now_ms);

    // The number of lines dropped since the last report, when a report is due: the bucket has a
    // token again, or a second has passed since the first of those drops. Resets the count.
    std::optional<std::uint64_t> take_report(std::int64_t now_ms);

    std::uint32_t per_s() const { return per_s_; }
    std::uint64_t dropped() const { return dropped_; } // not yet reported

private:
    void refill(std::int64_t now_ms);

    // In thousandths of a token, so that refilling by the millisecond is exact.
    std::int64_t millitokens_;
    std::int64_t capacity_;
    std::uint32_t per_s_;
    std::int64_t last_refill_ms_ = 0;
    bool started_ = false;
    std::uint64_t dropped_ = 0;
    std::int64_t first_drop_ms_ = 0;
};

// The WARN entry that stands for `dropped` lines of `source` (`source` is valid UTF-8 already;
// the message is cut to max_message_bytes like any other).
proto::log_entry drop_report(std::string_view source, std::uint64_t dropped, std::uint32_t per_s,
                             std::int64_t now_ms, std::size_t max_message_bytes);

} // namespace corvid::agent::logs
