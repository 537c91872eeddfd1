#pragma once
// Samples the agent has taken but the collector has not yet acknowledged, in seq order.
// After a reconnect every unacknowledged sample is sent again (the collector stores a sample
// once per (server_id, timestamp), so a resend is harmless).
// Bounded: at most `capacity` samples (default: one hour at 5 s). When full, the oldest sample is
// dropped and counted in dropped(); the agent logs the count. This is the in-memory stage of the
// durable on-disk spool planned in the reliability issue.
// Pure data structure, io thread only.
#include <cstdint>
#include <deque>

#include "proto/messages.hpp"

namespace corvid::agent {

class outbox {
public:
    explicit outbox(std::size_t capacity = 720);

    // Stores a sample under the next seq (1, 2, 3, … for the life of the process) and returns it.
    std::uint64_t push(proto::sample_data data);
    // The oldest sample not yet sent on this connection, or nullptr.
    const proto::metrics* next_unsent() const;
    void mark_sent(); // the sample next_unsent() returned was written
    // The collector committed every sample up to `seq`: forget them.
    void acknowledge(std::uint64_t seq);
    // A new connection: everything unacknowledged is to be sent again.
    void rewind();

    std::size_t size() const { return items_.size(); }
    std::uint64_t dropped() const { return dropped_; }
    std::uint64_t last_seq() const { return next_seq_ - 1; }

private:
    std::size_t capacity_;
    std::deque<proto::metrics> items_;
    std::size_t sent_ = 0; // items_[0, sent_) were written on the current connection
    std::uint64_t next_seq_ = 1;
    std::uint64_t dropped_ = 0;
};

} // namespace corvid::agent
