#include "collector/auth/api_key.hpp"

#include <sodium.h>

#include "common/random.hpp"

namespace corvid::collector {

std::string generate_api_key()
{
    return std::string(api_key_prefix) + base64url_encode(random_bytes(32));
}

bool looks_like_api_key(std::string_view text)
{
    if (text.size() != api_key_length || !text.starts_with(api_key_prefix))
        return false;
    for (const char c : text.substr(api_key_prefix.size())) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

std::string hash_api_key(std::string_view key)
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(key.data()), key.size());
    return hex_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

bool api_key_hash_equal(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace corvid::collector
