#pragma once
// The checks every command from the collector passes before the policy is even asked: a valid
// Ed25519 signature by the collector's key, addressed to this server, inside its validity window,
// and never seen before. Each refusal names its reason for the local log and the response.
// Pure (no I/O, time passed in): unit-tested without sockets. io thread only.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace corvid::agent {

// The refusals of PROTOCOL.md 10.4, as they appear in command_response.error.
enum class refusal { disabled, denied, bad_signature, expired, replayed, busy };
std::string_view refusal_name(refusal r);

struct refused {
    agent::refusal code;
    std::string reason; // one line for the log and the operator; never holds the signature
};

// What a command claims about itself; `payload` is proto::signing_payload() of the command.
struct signed_envelope {
    std::string_view command_id, server_id, payload, signature_base64;
    std::int64_t issued_at_ms = 0, expires_at_ms = 0;
};

class command_guard {
public:
    // Longest validity window the collector may grant, and the clock difference tolerated.
    static constexpr std::int64_t max_validity_ms = 10 * 60 * 1000;
    static constexpr std::int64_t clock_skew_ms = 60 * 1000;

    // `public_key` is the raw 32-byte Ed25519 key; `replay_capacity` bounds the remembered ids.
    explicit command_guard(std::string public_key, std::size_t replay_capacity = 4096);

    // The id this agent authenticated as; commands for any other server are refused.
    void set_server_id(std::string id) { server_id_ = std::move(id); }

    // Admits the command (and remembers its id until it expires) or says why not.
    std::optional<refused> admit(const signed_envelope& e, std::int64_t now_ms);

    std::size_t remembered() const { return seen_.size(); }

private:
    void forget_expired(std::int64_t now_ms);

    std::string public_key_;
    std::size_t capacity_;
    std::string server_id_;
    // command_id -> the time after which a replay would be refused as expired anyway.
    std::map<std::string, std::int64_t, std::less<>> seen_;
};

} // namespace corvid::agent
