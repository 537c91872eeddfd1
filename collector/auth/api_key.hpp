#pragma once
// Agent API keys: "cvd_" followed by the unpadded base64url form of 32 random bytes (256 bits),
// 47 characters in all. The collector stores only the key's SHA-256: a fast hash is right here
// because the key is uniformly random and far too long to guess, so the hash needs no slowing down
// (unlike a password) and a stolen database reveals no usable key.
// Threading: pure functions, safe on any thread. Call corvid::init_crypto() first.
#include <cstddef>
#include <string>
#include <string_view>

namespace corvid::collector {

inline constexpr std::string_view api_key_prefix = "cvd_";
inline constexpr std::size_t api_key_length = 47; // prefix + 43 base64url characters

std::string generate_api_key();

// True when `text` has the prefix, the length and only base64url characters after the prefix.
// A cheap filter so garbage is refused before it is hashed and looked up.
bool looks_like_api_key(std::string_view text);

// Lowercase hex SHA-256 of the whole key (prefix included), 64 characters.
std::string hash_api_key(std::string_view key);

// Constant-time comparison of two hashes; false when the sizes differ (the size is not secret).
bool api_key_hash_equal(std::string_view a, std::string_view b);

} // namespace corvid::collector
