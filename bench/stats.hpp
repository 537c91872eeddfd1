#pragma once
// Latency samples of the load generator: microseconds in a flat vector (one per acked or delivered
// sample, a few MB at most for a bounded run), sorted once at the end for percentiles.
// Not thread-safe: each worker thread owns its recorders; they are merged after the threads end.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <vector>

namespace corvid::bench {

class latency_recorder {
public:
    void add(std::chrono::steady_clock::duration d)
    {
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
        us_.push_back(us < 0 ? 0 : static_cast<std::uint64_t>(us));
    }
    void merge(const latency_recorder& other) { us_.insert(us_.end(), other.us_.begin(), other.us_.end()); }
    std::size_t count() const { return us_.size(); }

    struct summary {
        std::size_t count = 0;
        double p50_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
    };
    // Nearest-rank percentiles. Sorts in place.
    summary summarize()
    {
        summary s;
        s.count = us_.size();
        if (us_.empty())
            return s;
        std::sort(us_.begin(), us_.end());
        const auto rank = [&](double p) {
            const auto r = static_cast<std::size_t>(std::ceil(p * static_cast<double>(us_.size())));
            return static_cast<double>(us_[std::clamp<std::size_t>(r, 1, us_.size()) - 1]) / 1000.0;
        };
        s.p50_ms = rank(0.50);
        s.p99_ms = rank(0.99);
        s.max_ms = static_cast<double>(us_.back()) / 1000.0;
        double sum = 0;
        for (auto v : us_)
            sum += static_cast<double>(v);
        s.mean_ms = sum / static_cast<double>(us_.size()) / 1000.0;
        return s;
    }

private:
    std::vector<std::uint64_t> us_;
};

} // namespace corvid::bench
