#pragma once
// Randomness and the text encodings secrets travel in. All randomness comes from libsodium
// (the kernel CSPRNG); call corvid::init_crypto() once at start-up before any of these.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corvid {

void init_crypto(); // throws std::runtime_error if libsodium cannot start
std::string random_bytes(std::size_t n);
std::string uuid_v4(); // "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", lower case
bool is_uuid(std::string_view s);

std::string base64url_encode(std::string_view bytes);                 // no padding
std::optional<std::string> base64url_decode(std::string_view text);  // strict: no padding, no spaces
std::string base64_encode(std::string_view bytes);                    // standard, padded
std::optional<std::string> base64_decode(std::string_view text);
std::string hex_encode(std::string_view bytes);

} // namespace corvid
