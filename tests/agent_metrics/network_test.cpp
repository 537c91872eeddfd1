#include "agent/metrics/network.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <string>
#include <vector>

#include "fixture.hpp"

using namespace corvid::agent::metrics;
using corvid::test::read_fixture;

namespace {
std::vector<net_counters> net_dev(std::string_view fixture)
{
    auto n = parse_net_dev(read_fixture(fixture));
    REQUIRE(n);
    return *n;
}

const corvid::proto::network_interface& find(const std::vector<corvid::proto::network_interface>& all,
                                             std::string_view name)
{
    const auto it = std::find_if(all.begin(), all.end(), [&](const auto& n) { return n.interface == name; });
    REQUIRE(it != all.end());
    return *it;
}
} // namespace

TEST_SUITE("agent.metrics.network")
{
    TEST_CASE("parse_net_dev: receive and transmit bytes of every interface")
    {
        const auto n = net_dev("proc-vm/net/dev");
        REQUIRE(n.size() == 4);
        CHECK(n[0] == net_counters{"lo", 18821644, 18821644});
        CHECK(n[1] == net_counters{"ens3", 9921044871, 1201844290});
        CHECK(n[3] == net_counters{"veth3a1f2c9", 122093121, 881220432});
        // Large counters run into the colon.
        CHECK(net_dev("proc-cases/net-dev-32bit-wrap-before")[1] == net_counters{"eth0", 4294967000, 1000000});
    }

    TEST_CASE("parse_net_dev: no interfaces is an empty list, malformed lines are rejected")
    {
        const auto none = parse_net_dev("Inter-|   Receive |  Transmit\n face |bytes packets|bytes packets\n");
        REQUIRE(none);
        CHECK(none->empty());
        CHECK_FALSE(parse_net_dev("eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"));   // no colon
        CHECK_FALSE(parse_net_dev(": 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"));      // no name
        CHECK_FALSE(parse_net_dev("eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n"));     // 15 numbers
        CHECK_FALSE(parse_net_dev("eth0: 1 2 3 4 5 6 7 8 x 10 11 12 13 14 15 16\n"));  // not a number
        CHECK_FALSE(parse_net_dev("eth0: 1 2 3 4 5 6 7 8 -9 10 11 12 13 14 15 16\n")); // negative
    }

    TEST_CASE("select_interfaces: lo is left out unless included")
    {
        const auto without = select_interfaces(net_dev("proc-vm/net/dev"), {});
        REQUIRE(without.size() == 3);
        CHECK(without[0].interface == "ens3");
        const auto with = select_interfaces(net_dev("proc-vm/net/dev"), {"lo"});
        REQUIRE(with.size() == 4);
        CHECK(with[0].interface == "lo");
    }

    TEST_CASE("network_rates: first reading is zero, totals are the counters")
    {
        const auto n = net_dev("proc-vm/net/dev");
        const auto r = network_rates(n, n, 0);
        REQUIRE(r.size() == 4);
        CHECK(r[1] == corvid::proto::network_interface{"ens3", 0, 0, 9921044871, 1201844290});
    }

    TEST_CASE("network_rates: a 32-bit counter wrap is counted across the wrap")
    {
        const auto r = network_rates(net_dev("proc-cases/net-dev-32bit-wrap-before"),
                                     net_dev("proc-cases/net-dev-32bit-wrap-after"), 2.0);
        // eth0 rx: 4294967000 -> 704 is 296 + 704 = 1000 bytes; tx grew 500000.
        CHECK(find(r, "eth0").rx_bytes_per_s == doctest::Approx(500));
        CHECK(find(r, "eth0").tx_bytes_per_s == doctest::Approx(250000));
        CHECK(find(r, "eth0").rx_bytes_total == 704);
        // eth1 rx grew 7295; tx: 4294967290 -> 10 is 6 + 10 = 16 bytes.
        CHECK(find(r, "eth1").rx_bytes_per_s == doctest::Approx(3647.5));
        CHECK(find(r, "eth1").tx_bytes_per_s == doctest::Approx(8));
    }

    TEST_CASE("network_rates: an interface reset counts from zero, never negative or huge")
    {
        const auto r = network_rates(net_dev("proc-cases/net-dev-reset-before"),
                                     net_dev("proc-cases/net-dev-reset-after"), 2.0);
        // eth0 had 64-bit-sized counters; wg0 small ones that would pass for a 32-bit wrap if
        // only one of them had gone down. Both went down: re-created, counted from 0.
        CHECK(find(r, "eth0").rx_bytes_per_s == doctest::Approx(2000));
        CHECK(find(r, "eth0").tx_bytes_per_s == doctest::Approx(3000));
        CHECK(find(r, "wg0").rx_bytes_per_s == doctest::Approx(1000));
        CHECK(find(r, "wg0").tx_bytes_per_s == doctest::Approx(500));
        CHECK(find(r, "lo").rx_bytes_per_s == doctest::Approx(500));

        // One counter of a 64-bit-sized pair going down alone is a reset too.
        const auto one = network_rates({{"eth9", 10'000'000'000u, 5}}, {{"eth9", 4000, 7}}, 1.0);
        CHECK(one[0].rx_bytes_per_s == doctest::Approx(4000));
        CHECK(one[0].tx_bytes_per_s == doctest::Approx(2));
    }

    TEST_CASE("network_rates: an interface without an earlier reading reads 0")
    {
        const auto r = network_rates({{"eth0", 100, 100}}, {{"eth0", 300, 100}, {"tun0", 5000, 6000}}, 1.0);
        REQUIRE(r.size() == 2);
        CHECK(r[0].rx_bytes_per_s == doctest::Approx(200));
        CHECK(r[1] == corvid::proto::network_interface{"tun0", 0, 0, 5000, 6000});
    }
}
