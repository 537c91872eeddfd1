#include "collector/auth/password.hpp"

#include <new>
#include <sodium.h>

namespace corvid::collector {

std::string hash_password(std::string_view password)
{
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13)
        != 0)
        throw std::bad_alloc(); // the only documented failure: the memory limit could not be allocated
    return out;
}

namespace {
// libsodium reads the hash as a C string; one with an embedded NUL or without room for the
// terminator is not something hash_password made.
bool as_c_string(std::string_view hash, char (&buf)[crypto_pwhash_STRBYTES])
{
    if (hash.empty() || hash.size() >= sizeof buf || hash.find('\0') != std::string_view::npos)
        return false;
    hash.copy(buf, hash.size());
    buf[hash.size()] = '\0';
    return true;
}
} // namespace

bool verify_password(std::string_view hash, std::string_view password)
{
    char buf[crypto_pwhash_STRBYTES];
    if (!as_c_string(hash, buf))
        return false;
    return crypto_pwhash_str_verify(buf, password.data(), password.size()) == 0;
}

std::optional<std::string> check_new_password(std::string_view password)
{
    if (password.size() < min_password_bytes)
        return "the password must have at least 8 characters";
    // argon2id's cost does not grow with the length; the cap only keeps bodies and stdin sane.
    if (password.size() > max_password_bytes)
        return "the password must have at most 1024 bytes";
    return std::nullopt;
}

bool password_needs_rehash(std::string_view hash)
{
    char buf[crypto_pwhash_STRBYTES];
    if (!as_c_string(hash, buf))
        return true;
    return crypto_pwhash_str_needs_rehash(buf, crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE)
        != 0;
}

} // namespace corvid::collector
