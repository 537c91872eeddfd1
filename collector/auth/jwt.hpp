#pragma once
// Operator session tokens: JSON Web Tokens (RFC 7519) signed with HMAC-SHA256 ("HS256") and a
// 32-byte secret that lives in a 0600 file in the data directory. Only what we issue is accepted:
// the header's "alg" must be exactly "HS256" (so "none" and key-confusion tricks fail), a "crit"
// header is refused, and the signature is checked in constant time before any claim is read.
// Claims: "sub" (username, required), "exp" (required), "iat" and "nbf" (optional), all times in
// whole seconds since the Unix epoch; "gen" (optional, a non-negative integer, absent = 0): the
// user's token generation when the token was issued. The signature makes "gen" trustworthy; the
// caller compares it with the stored generation (operator_auth.hpp) to honour revocation.
// Threading: issue_token and verify_token are pure and thread-safe; load_or_create_secret blocks on
// file I/O (start-up only). Call corvid::init_crypto() first.
#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <functional>
#include <cstdint>
#include <string>
#include <string_view>

namespace corvid::collector {

inline constexpr std::size_t jwt_secret_bytes = 32;
inline constexpr std::size_t max_token_bytes = 4096; // longer input is refused before decoding
inline constexpr std::int64_t jwt_clock_skew_s = 60;  // allowance for "iat" and "nbf" in the future

struct token_claims {
    std::string subject;
    std::int64_t issued_at_s = 0, expires_at_s = 0;
    std::int64_t generation = 0; // "gen"
};

enum class jwt_errc {
    malformed = 1,  // not three base64url parts of JSON objects, too long, or a claim of the wrong type
    bad_algorithm,  // "alg" missing or other than "HS256", or a "crit" header
    bad_signature,  // the signature does not match (tampered, or another secret)
    expired,        // now >= exp
    not_yet_valid,  // nbf or iat more than jwt_clock_skew_s in the future
    missing_claim,  // no "exp", or no non-empty "sub"
};

struct jwt_error {
    jwt_errc code;
    std::string message; // for the log; safe to log (never contains the token or the secret)
};

// Lets result<T, jwt_error>::value() throw when used on an error (a bug in the caller).
[[noreturn]] void throw_exception_from_error(const jwt_error& e, const boost::source_location& loc);

// Throws std::invalid_argument if the secret is not jwt_secret_bytes long (a start-up bug).
std::string issue_token(std::string_view secret, const token_claims& claims);

// Throws std::invalid_argument if the secret is not jwt_secret_bytes long.
boost::system::result<token_claims, jwt_error> verify_token(std::string_view secret, std::string_view token,
                                                            std::int64_t now_s);

enum class secret_errc {
    wrong_size = 1, // the secret file exists but does not hold exactly jwt_secret_bytes bytes
};
const boost::system::error_category& secret_category();
boost::system::error_code make_error_code(secret_errc e);

// Returns the secret stored at `path`, creating the file (random bytes, mode 0600) if it does not
// exist. Creation writes a temporary file and hard-links it into place, which fails if the name
// exists: two collectors starting at once agree on one secret and neither sees a half-written
// file. Warns in the log if group or others may read the file. Errors: system errors from the file
// calls, secret_errc::wrong_size. `size` and `generate` serve other secrets of the data directory
// (the command signing key): a new file holds generate() (random bytes by default) of `size` bytes.
boost::system::result<std::string> load_or_create_secret(const std::string& path, std::size_t size = jwt_secret_bytes,
                                                         const std::function<std::string()>& generate = {});

} // namespace corvid::collector

template <> struct boost::system::is_error_code_enum<corvid::collector::secret_errc> : std::true_type {};
