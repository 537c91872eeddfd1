#pragma once
// Ed25519 signatures (libsodium) for commands: the collector holds the secret key, each agent is
// configured with the public key and runs nothing whose signature does not verify.
// Keys and signatures are raw bytes here; on the wire and in config files they are base64.
// Thread-safe; call corvid::init_crypto() first.
#include <optional>
#include <string>
#include <string_view>

namespace corvid {

inline constexpr std::size_t signing_public_key_bytes = 32;
inline constexpr std::size_t signing_secret_key_bytes = 64; // libsodium's seed + public key form
inline constexpr std::size_t signature_bytes = 64;

struct signing_key_pair {
    std::string public_key, secret_key;
};

signing_key_pair generate_signing_key_pair();
// The pair for a stored secret key; nullopt if it is not a well-formed Ed25519 secret key.
std::optional<signing_key_pair> signing_key_pair_from_secret(std::string_view secret_key);
std::string sign_detached(std::string_view message, std::string_view secret_key);
// False for a wrong signature, and for a key or signature of the wrong size.
bool verify_detached(std::string_view message, std::string_view signature, std::string_view public_key);

// Lowercase hex SHA-256 of `data` (the audit log's fingerprint of a command's output).
std::string sha256_hex(std::string_view data);

} // namespace corvid
