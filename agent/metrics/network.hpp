#pragma once
// Network throughput from /proc/net/dev: the parser, the choice of interfaces, and bytes per
// second between two readings. Pure functions; safe from any thread.
//
// Reported by default: every interface but the loopback "lo" (traffic that never leaves the
// host); an interface named in the sampler's network_include is reported whatever it is.
//
// Counters going backwards: each counter on its own follows counter_delta (rate.hpp): a 32-bit
// wrap when the earlier value fits in 32 bits, otherwise a reset. But when receive and transmit
// both went backwards in one interval, the interface was re-created (a VPN or PPP link coming
// back, a veth re-made) and both count from 0, even when the earlier values were small: two
// counters wrapping in the same interval is far less likely, and reading a reset as a wrap would
// report up to 4 GiB that never crossed the wire.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/messages.hpp"

namespace corvid::agent::metrics {

struct net_counters {
    std::string interface;
    std::uint64_t rx_bytes = 0, tx_bytes = 0;
    bool operator==(const net_counters&) const = default;
};

// One entry per "name: 16 numbers" line; the two header lines (they hold '|') are skipped.
// nullopt on any other line shape. No interfaces at all is an empty list, not an error.
std::optional<std::vector<net_counters>> parse_net_dev(std::string_view text);

// The interfaces reported (see above), in file order.
std::vector<net_counters> select_interfaces(std::vector<net_counters> all, const std::vector<std::string>& include);

// The wire entries: totals from `cur`, bytes per second over `elapsed_s`; an interface without an
// earlier reading reads 0 bytes/s.
std::vector<proto::network_interface> network_rates(const std::vector<net_counters>& prev,
                                                     const std::vector<net_counters>& cur, double elapsed_s);

} // namespace corvid::agent::metrics
