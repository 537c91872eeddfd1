#pragma once
// Reconnect backoff policy: 1 s, 2 s, 4 s … capped at 30 s, each delay with random jitter
// (in [d/2, d]) so a fleet restarted together does not reconnect in lockstep; reset after a
// successful authentication. Pure: no clock, no I/O; the jitter source is injectable for tests.
#include <chrono>
#include <functional>

namespace corvid::agent {

class backoff {
public:
    using jitter_source = std::function<double()>; // uniform in [0, 1)
    explicit backoff(jitter_source jitter = {}, std::chrono::milliseconds initial = std::chrono::seconds(1),
                     std::chrono::milliseconds cap = std::chrono::seconds(30));
    std::chrono::milliseconds next(); // the delay before the next attempt
    void reset();                     // after a successful auth

private:
    jitter_source jitter_;
    std::chrono::milliseconds initial_, cap_, current_;
};

} // namespace corvid::agent
