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

// command_id -> the time (Unix ms) after which a replay would be refused as expired anyway.
using remembered_ids = std::map<std::string, std::int64_t, std::less<>>;

class command_guard {
public:
    // Longest validity window the collector may grant, and the clock difference tolerated.
    static constexpr std::int64_t max_validity_ms = 10 * 60 * 1000;
    static constexpr std::int64_t clock_skew_ms = 60 * 1000;

    // How long after a start any command admitted before it could still be admitted again: one
    // issued up to clock_skew_ms in the future, valid for max_validity_ms, accepted until
    // clock_skew_ms past its expiry. An agent that cannot tell which ids it saw before a restart
    // refuses every command for this long (issue 12.3).
    static constexpr std::int64_t replay_window_ms = max_validity_ms + 2 * clock_skew_ms;

    // `public_key` is the raw 32-byte Ed25519 key; `replay_capacity` bounds the remembered ids.
    explicit command_guard(std::string public_key, std::size_t replay_capacity = 4096);

    // The server id commands must be addressed to: the configured server_id (for shell commands
    // always; issue 12.3), or for Docker actions on an agent without one, the id it authenticated
    // as. "" refuses every command.
    void set_server_id(std::string id) { server_id_ = std::move(id); }

    // Ids remembered before a restart (replay_store); the expired ones are dropped.
    void restore(remembered_ids ids, std::int64_t now_ms);
    // Refuses every verified command as `busy` until `until_ms`, saying `reason` (the remembered
    // ids of the previous run could not be read, so any of them might be replayed).
    void refuse_until(std::int64_t until_ms, std::string reason);

    // Admits the command (and remembers its id until it expires) or says why not.
    std::optional<refused> admit(const signed_envelope& e, std::int64_t now_ms);

    std::size_t remembered() const { return seen_.size(); }
    const remembered_ids& ids() const { return seen_; }

private:
    void forget_expired(std::int64_t now_ms);

    std::string public_key_;
    std::size_t capacity_;
    std::string server_id_;
    remembered_ids seen_;
    std::int64_t refuse_until_ms_ = 0;
    std::string refuse_reason_;
};

} // namespace corvid::agent
