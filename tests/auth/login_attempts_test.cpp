#include "collector/auth/login_attempts.hpp"

#include <doctest/doctest.h>
#include <string>
#include <vector>

using namespace corvid::collector;
using namespace std::chrono_literals;

namespace {
const login_attempts::time_point t0{std::chrono::hours(1000)};

bool refused(const std::variant<login_attempts::ticket, std::chrono::seconds>& r)
{
    return std::holds_alternative<std::chrono::seconds>(r);
}
} // namespace

TEST_SUITE("auth.login_attempts")
{
    // Issue 12.6: 30 parallel wrong guesses for one user were all verified, because failures were
    // recorded only after the hash ran. Attempts are now reserved before it runs.
    TEST_CASE("login_attempts: issue12_6 parallel attempts are counted before any is verified")
    {
        login_attempts limits;
        std::vector<login_attempts::ticket> in_flight;
        int refusals = 0;
        for (int i = 0; i < 30; ++i) {
            auto r = limits.begin("admin", "10.0.0.1", t0);
            if (refused(r))
                ++refusals;
            else
                in_flight.push_back(std::get<login_attempts::ticket>(r));
        }
        CHECK(in_flight.size() == 5); // at most 5 reach the password check
        CHECK(refusals == 25);
        for (const auto& t : in_flight)
            limits.failed(t);
        const auto wait = limits.begin("admin", "10.0.0.99", t0 + 1s); // from anywhere: per user
        REQUIRE(refused(wait));
        CHECK(std::get<std::chrono::seconds>(wait) == 899s); // the 15-minute window
        CHECK_FALSE(refused(limits.begin("admin", "10.0.0.99", t0 + 900s)));
    }

    // Issue 12.6: a success for one user reset the failures of the address.
    TEST_CASE("login_attempts: issue12_6 one user's success does not clear another's failures")
    {
        login_attempts limits;
        for (int i = 0; i < 5; ++i)
            limits.failed(std::get<login_attempts::ticket>(limits.begin("bob", "10.0.0.1", t0)));
        CHECK(refused(limits.begin("bob", "10.0.0.1", t0)));
        auto alice = limits.begin("alice", "10.0.0.1", t0 + 1s);
        REQUIRE_FALSE(refused(alice));
        limits.succeeded(std::get<login_attempts::ticket>(alice));
        CHECK(refused(limits.begin("bob", "10.0.0.1", t0 + 2s)));
        CHECK(refused(limits.begin("bob", "192.0.2.1", t0 + 2s)));
    }

    TEST_CASE("login_attempts: a success takes back only its own reservation")
    {
        login_attempts limits({.max_per_user = 3, .max_per_address = 100, .window = 60s});
        auto a = std::get<login_attempts::ticket>(limits.begin("carol", "10.0.0.1", t0));
        limits.failed(std::get<login_attempts::ticket>(limits.begin("carol", "10.0.0.1", t0 + 1s)));
        limits.failed(std::get<login_attempts::ticket>(limits.begin("carol", "10.0.0.1", t0 + 2s)));
        CHECK(refused(limits.begin("carol", "10.0.0.1", t0 + 3s))); // the pending one counts
        limits.succeeded(a);
        auto next = limits.begin("carol", "10.0.0.1", t0 + 3s);
        REQUIRE_FALSE(refused(next)); // two failures left: one more may try
        limits.failed(std::get<login_attempts::ticket>(next));
        CHECK(refused(limits.begin("carol", "10.0.0.1", t0 + 4s)));
    }

    TEST_CASE("login_attempts: an abandoned attempt (never verified) does not count")
    {
        login_attempts limits({.max_per_user = 1, .max_per_address = 100, .window = 60s});
        limits.abandoned(std::get<login_attempts::ticket>(limits.begin("dave", "10.0.0.1", t0)));
        CHECK_FALSE(refused(limits.begin("dave", "10.0.0.1", t0)));
    }

    TEST_CASE("login_attempts: an address is limited across user names")
    {
        login_attempts limits; // 20 per address
        for (int i = 0; i < 20; ++i)
            limits.failed(std::get<login_attempts::ticket>(limits.begin("user" + std::to_string(i), "10.0.0.1", t0)));
        CHECK(refused(limits.begin("fresh", "10.0.0.1", t0)));
        CHECK_FALSE(refused(limits.begin("fresh", "10.0.0.2", t0)));
    }

    TEST_CASE("login_attempts: IPv6 addresses are counted per /64, IPv4-mapped ones as IPv4")
    {
        CHECK(login_address_key("203.0.113.7") == "203.0.113.7");
        CHECK(login_address_key("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64");
        CHECK(login_address_key("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64");
        CHECK(login_address_key("::ffff:198.51.100.9") == "198.51.100.9");
        CHECK(login_address_key("?") == "?");

        login_attempts limits({.max_per_user = 100, .max_per_address = 2, .window = 60s});
        limits.failed(std::get<login_attempts::ticket>(limits.begin("a", "2001:db8:1:2::1", t0)));
        limits.failed(std::get<login_attempts::ticket>(limits.begin("b", "2001:db8:1:2::2", t0)));
        CHECK(refused(limits.begin("c", "2001:db8:1:2:ffff:ffff:ffff:ffff", t0)));
        CHECK_FALSE(refused(limits.begin("c", "2001:db8:1:3::1", t0)));
    }

    TEST_CASE("login_attempts: user names longer than any valid one share one bounded key")
    {
        login_attempts limits({.max_per_user = 1, .max_per_address = 100, .window = 60s});
        const std::string long_a = std::string(100, 'x') + "a", long_b = std::string(100, 'x') + "b";
        limits.failed(std::get<login_attempts::ticket>(limits.begin(long_a, "10.0.0.1", t0)));
        CHECK(refused(limits.begin(long_b, "10.0.0.1", t0)));
    }
}
