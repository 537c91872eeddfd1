#pragma once
// Decides when the link to the collector is dead. The agent sends a sample every interval and the
// collector acks each; anything received counts as a sign of life. After one quiet interval the
// agent sends an application {"type":"ping"}; after three quiet intervals the link is declared dead
// and the agent reconnects. This catches half-open TCP and frozen proxies that never close a socket.
// Pure: time is passed in; no I/O.
#include <chrono>

namespace corvid::agent {

class liveness {
public:
    using clock = std::chrono::steady_clock;
    enum class verdict { alive, send_ping, dead };

    liveness(std::chrono::milliseconds interval, clock::time_point now);
    void on_received(clock::time_point now);
    void on_ping_sent(clock::time_point now);
    verdict check(clock::time_point now) const;
    // When check() should be called next (at the latest).
    clock::time_point next_check(clock::time_point now) const;

private:
    std::chrono::milliseconds interval_;
    clock::time_point last_received_, last_ping_;
};

} // namespace corvid::agent
