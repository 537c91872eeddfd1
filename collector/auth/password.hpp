#pragma once
// Operator passwords, stored as libsodium crypto_pwhash_str strings (argon2id, the INTERACTIVE
// limits: about 64 MiB and ~0.1 s or more per call). The string carries its own salt and
// parameters, so hashes made with older limits still verify.
// Threading: pure functions, safe on any thread, but both are deliberately slow and memory-hungry:
// run them on a worker thread, never on the io thread. Call corvid::init_crypto() first.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace corvid::collector {

// Throws std::bad_alloc if the memory argon2id needs cannot be had.
std::string hash_password(std::string_view password);

// False for a wrong password and for anything that is not a valid hash string.
bool verify_password(std::string_view hash, std::string_view password);

// The rule for a new password, wherever one comes in (`user add`, `user passwd`, the REST API):
// 8 to 1024 bytes. Returns the problem, for the operator, or nothing.
inline constexpr std::size_t min_password_bytes = 8, max_password_bytes = 1024;
std::optional<std::string> check_new_password(std::string_view password);

// True when `hash` was made with other parameters than hash_password uses today (rehash it on the
// next successful login), or is not a valid hash string.
bool password_needs_rehash(std::string_view hash);

} // namespace corvid::collector
