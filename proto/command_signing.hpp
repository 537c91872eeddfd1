#pragma once
// The canonical byte string a command's Ed25519 signature covers (PROTOCOL.md 10.2). The collector
// signs it, the agent rebuilds it from the fields it received and verifies. Every field that
// decides what runs where, as whom and until when is in it; the framing (name, length, value)
// makes it unambiguous, so no two different commands share a payload.
// Pure functions, thread-safe.
#include <string>

#include "proto/messages.hpp"

namespace corvid::proto {

std::string signing_payload(const command& c);
std::string signing_payload(const docker_command& c);

} // namespace corvid::proto
