#include "agent/commands/command_guard.hpp"

#include <fmt/format.h>

#include "common/random.hpp"
#include "common/signing.hpp"
#include "common/time_format.hpp"

namespace corvid::agent {

std::string_view refusal_name(refusal r)
{
    switch (r) {
    case refusal::disabled: return "disabled";
    case refusal::denied: return "denied";
    case refusal::bad_signature: return "bad_signature";
    case refusal::expired: return "expired";
    case refusal::replayed: return "replayed";
    case refusal::busy: return "busy";
    }
    return "denied";
}

command_guard::command_guard(std::string public_key, std::size_t replay_capacity)
    : public_key_(std::move(public_key)), capacity_(replay_capacity)
{
}

void command_guard::forget_expired(std::int64_t now_ms)
{
    // An id whose command has expired cannot be replayed successfully: the time check refuses it.
    std::erase_if(seen_, [&](const auto& entry) { return entry.second < now_ms - clock_skew_ms; });
}

void command_guard::restore(remembered_ids ids, std::int64_t now_ms)
{
    seen_ = std::move(ids);
    forget_expired(now_ms);
}

void command_guard::refuse_until(std::int64_t until_ms, std::string reason)
{
    refuse_until_ms_ = until_ms;
    refuse_reason_ = std::move(reason);
}

std::optional<refused> command_guard::admit(const signed_envelope& e, std::int64_t now_ms)
{
    // The signature first: nothing about an unsigned command is worth believing, and a forged
    // one must not be able to fill the replay cache.
    const auto signature = base64_decode(e.signature_base64);
    if (!signature || !verify_detached(e.payload, *signature, public_key_))
        return refused{refusal::bad_signature, "signature does not verify with collector_public_key"};
    if (now_ms < refuse_until_ms_)
        return refused{refusal::busy, fmt::format("{}; every command is refused until {}", refuse_reason_,
                                                  format_iso8601_ms(refuse_until_ms_))};
    if (server_id_.empty() || e.server_id != server_id_)
        return refused{refusal::denied, fmt::format("addressed to server {}, this agent is server {}", e.server_id,
                                                    server_id_.empty() ? "(unknown)" : server_id_)};
    if (e.expires_at_ms <= e.issued_at_ms || e.expires_at_ms - e.issued_at_ms > max_validity_ms)
        return refused{refusal::expired, fmt::format("validity window of {} ms is outside 1 ms to {} ms",
                                                     e.expires_at_ms - e.issued_at_ms, max_validity_ms)};
    if (e.issued_at_ms > now_ms + clock_skew_ms)
        return refused{refusal::expired, fmt::format("issued at {}, in the future (check both clocks)",
                                                     format_iso8601_ms(e.issued_at_ms))};
    if (now_ms > e.expires_at_ms + clock_skew_ms)
        return refused{refusal::expired, fmt::format("expired at {}", format_iso8601_ms(e.expires_at_ms))};
    forget_expired(now_ms);
    if (seen_.contains(e.command_id))
        return refused{refusal::replayed, fmt::format("command {} was already received", e.command_id)};
    // Forgetting an unexpired id would let it be replayed, so a full cache refuses instead.
    if (seen_.size() >= capacity_)
        return refused{refusal::busy, "too many recent commands; try again in a few minutes"};
    seen_.emplace(std::string(e.command_id), e.expires_at_ms);
    return std::nullopt;
}

} // namespace corvid::agent
