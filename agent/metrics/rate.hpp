#pragma once
// Counter and percentage arithmetic shared by the collectors: how far a kernel counter moved
// between two readings (it may wrap or start again from zero), per-second rates, and percentages
// kept finite and within 0-100 for the wire. Pure functions; safe from any thread.
#include <cstdint>

namespace corvid::agent::metrics {

// How far a counter moved from `prev` to `cur`. A decrease has two causes we can tell apart only
// by size: a 32-bit counter wrapping (32-bit kernels, and drivers that keep 32-bit statistics)
// or the counter starting again from zero (device re-created, driver reloaded). When `prev` fits
// in 32 bits the decrease is taken as a wrap; otherwise as a reset, counting from 0 up to `cur`.
// Either way the result is below 2^32 more than `cur`: never negative, never near 2^64.
std::uint64_t counter_delta(std::uint64_t prev, std::uint64_t cur);

// delta / elapsed_s; 0 when elapsed_s is not a positive finite number.
double per_second(std::uint64_t delta, double elapsed_s);

// part / whole * 100, clamped to 0-100; 0 when whole is not a positive finite number.
double percent_of(double part, double whole);

// `value` clamped to 0-100; a NaN becomes 0.
double clamp_percent(double value);

} // namespace corvid::agent::metrics
