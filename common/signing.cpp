#include "common/signing.hpp"

#include <sodium.h>

#include "common/random.hpp"

namespace corvid {
namespace {
const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }
} // namespace

signing_key_pair generate_signing_key_pair()
{
    signing_key_pair p;
    p.public_key.resize(crypto_sign_PUBLICKEYBYTES);
    p.secret_key.resize(crypto_sign_SECRETKEYBYTES);
    crypto_sign_keypair(bytes(p.public_key), bytes(p.secret_key));
    return p;
}

std::optional<signing_key_pair> signing_key_pair_from_secret(std::string_view secret_key)
{
    if (secret_key.size() != crypto_sign_SECRETKEYBYTES)
        return std::nullopt;
    // Rebuild the pair from the seed and check that the stored public half matches it, so a
    // damaged key file is refused instead of producing signatures no agent accepts.
    std::string seed(crypto_sign_SEEDBYTES, '\0');
    crypto_sign_ed25519_sk_to_seed(bytes(seed), bytes(secret_key));
    signing_key_pair p;
    p.public_key.resize(crypto_sign_PUBLICKEYBYTES);
    p.secret_key.resize(crypto_sign_SECRETKEYBYTES);
    crypto_sign_seed_keypair(bytes(p.public_key), bytes(p.secret_key), bytes(seed));
    sodium_memzero(seed.data(), seed.size());
    if (sodium_memcmp(p.secret_key.data(), secret_key.data(), secret_key.size()) != 0)
        return std::nullopt;
    return p;
}

std::string sign_detached(std::string_view message, std::string_view secret_key)
{
    std::string sig(crypto_sign_BYTES, '\0');
    crypto_sign_detached(bytes(sig), nullptr, bytes(message), message.size(), bytes(secret_key));
    return sig;
}

bool verify_detached(std::string_view message, std::string_view signature, std::string_view public_key)
{
    if (signature.size() != crypto_sign_BYTES || public_key.size() != crypto_sign_PUBLICKEYBYTES)
        return false;
    return crypto_sign_verify_detached(bytes(signature), bytes(message), message.size(), bytes(public_key)) == 0;
}

std::string sha256_hex(std::string_view data)
{
    std::string digest(crypto_hash_sha256_BYTES, '\0');
    crypto_hash_sha256(bytes(digest), bytes(data), data.size());
    return hex_encode(digest);
}

} // namespace corvid
