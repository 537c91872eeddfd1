#include "agent/commands/command_guard.hpp"

#include <doctest/doctest.h>

#include "agent/commands/command_dispatcher.hpp"
#include "common/random.hpp"
#include "common/signing.hpp"
#include "proto/codec.hpp"
#include "proto/command_signing.hpp"

using namespace corvid;
using namespace corvid::agent;

namespace {
constexpr std::int64_t now = 1767225605000;
const std::string server = "0b8f6f2e-6c4b-4a8e-9d2a-3f1e5c7b9a10";

struct signed_command {
    proto::command c;
    std::string payload;
};

signed_command make(const signing_key_pair& keys, std::string id = "c-1", std::int64_t issued = now,
                    std::int64_t validity = 60000)
{
    signed_command s;
    s.c.command_id = std::move(id);
    s.c.command = "uptime";
    s.c.timeout_s = 10;
    s.c.server_id = server;
    s.c.issued_by = "alice";
    s.c.issued_at_ms = issued;
    s.c.expires_at_ms = issued + validity;
    s.payload = proto::signing_payload(s.c);
    s.c.signature = base64_encode(sign_detached(s.payload, keys.secret_key));
    return s;
}

signed_envelope envelope(const signed_command& s)
{
    return {s.c.command_id, s.c.server_id, s.payload, s.c.signature, s.c.issued_at_ms, s.c.expires_at_ms};
}

std::optional<refusal> verdict(command_guard& g, const signed_command& s, std::int64_t at = now)
{
    auto r = g.admit(envelope(s), at);
    return r ? std::optional<refusal>(r->code) : std::nullopt;
}
} // namespace

TEST_SUITE("agent.command_guard")
{
    TEST_CASE("command_guard: a signed, current, first-seen command for this server is admitted once")
    {
        init_crypto();
        const auto keys = generate_signing_key_pair();
        command_guard g(keys.public_key);
        g.set_server_id(server);
        const auto s = make(keys);
        CHECK_FALSE(verdict(g, s));
        CHECK(verdict(g, s) == refusal::replayed);
        CHECK(g.remembered() == 1);
    }

    TEST_CASE("command_guard: tampering with any signed field, or another key, is bad_signature")
    {
        init_crypto();
        const auto keys = generate_signing_key_pair();
        command_guard g(keys.public_key);
        g.set_server_id(server);
        auto s = make(keys);
        s.c.command = "rm -rf /";
        s.payload = proto::signing_payload(s.c); // the agent rebuilds the payload from what it received
        CHECK(verdict(g, s) == refusal::bad_signature);
        const auto other = generate_signing_key_pair();
        CHECK(verdict(g, make(other, "c-2")) == refusal::bad_signature);
        auto garbled = make(keys, "c-3");
        garbled.c.signature = "not base64!";
        CHECK(verdict(g, garbled) == refusal::bad_signature);
        CHECK(g.remembered() == 0); // forgeries never fill the replay cache
    }

    TEST_CASE("command_guard: a command for another server is denied")
    {
        init_crypto();
        const auto keys = generate_signing_key_pair();
        command_guard g(keys.public_key);
        g.set_server_id("11111111-2222-4333-8444-555555555555");
        CHECK(verdict(g, make(keys)) == refusal::denied);
        command_guard unauthenticated(keys.public_key);
        CHECK(verdict(unauthenticated, make(keys)) == refusal::denied);
    }

    TEST_CASE("command_guard: expiry, clock skew and validity window")
    {
        init_crypto();
        const auto keys = generate_signing_key_pair();
        command_guard g(keys.public_key);
        g.set_server_id(server);
        const auto skew = command_guard::clock_skew_ms;
        CHECK(verdict(g, make(keys, "late"), now + 60000 + skew + 1) == refusal::expired);
        CHECK_FALSE(verdict(g, make(keys, "slightly-late"), now + 60000 + skew));
        CHECK(verdict(g, make(keys, "future", now + skew + 1000), now) == refusal::expired);
        CHECK(verdict(g, make(keys, "forever", now, command_guard::max_validity_ms + 1)) == refusal::expired);
        CHECK(verdict(g, make(keys, "backwards", now, -1)) == refusal::expired);
    }

    TEST_CASE("command_guard: ids are forgotten once expired; a full cache refuses instead of forgetting")
    {
        init_crypto();
        const auto keys = generate_signing_key_pair();
        command_guard g(keys.public_key, 2);
        g.set_server_id(server);
        CHECK_FALSE(verdict(g, make(keys, "a")));
        CHECK_FALSE(verdict(g, make(keys, "b")));
        CHECK(verdict(g, make(keys, "c")) == refusal::busy);
        // Two minutes later a and b have expired (beyond the skew): room again, and a replay of
        // "a" is refused as expired rather than accepted.
        const auto later = now + 60000 + command_guard::clock_skew_ms + 1;
        CHECK(verdict(g, make(keys, "a"), later) == refusal::expired);
        CHECK_FALSE(verdict(g, make(keys, "d", later), later));
        CHECK(g.remembered() == 1);
    }

    TEST_CASE("fit_in_frame: binary output that escapes past the frame limit is cut and marked truncated")
    {
        proto::command_response r;
        r.command_id = "c";
        r.output = std::string(512 * 1024, '\x01'); // each byte becomes \u0001: 6 bytes on the wire
        fit_in_frame(r);
        CHECK(r.truncated);
        CHECK(proto::encode(r).size() <= proto::max_frame_bytes);
        CHECK(r.output.size() > 100 * 1024);
        proto::command_response small;
        small.output = "hello";
        fit_in_frame(small);
        CHECK_FALSE(small.truncated);
        CHECK(small.output == "hello");
    }
}
