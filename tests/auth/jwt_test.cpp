#include "collector/auth/jwt.hpp"

#include "tests/support/temp_dir.hpp"

#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <sodium.h>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include "common/random.hpp"

using namespace corvid::collector;
using corvid::test::temp_dir;

namespace {

constexpr std::int64_t now = 1'700'000'000;

std::string test_secret() { return std::string(32, 'k'); }

// Builds a token from raw JSON, signed correctly with `secret`, so each check in verify_token can
// be reached on its own.
std::string make_token(std::string_view secret, std::string_view header, std::string_view payload)
{
    std::string input = corvid::base64url_encode(header) + "." + corvid::base64url_encode(payload);
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256(mac, reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                           reinterpret_cast<const unsigned char*>(secret.data()));
    return input + "." + corvid::base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), sizeof mac));
}

constexpr std::string_view hs256 = R"({"alg":"HS256","typ":"JWT"})";

std::string payload_json(std::string_view extra = "") { return std::string(R"({"sub":"alice","exp":1700003600)") + std::string(extra) + "}"; }

jwt_errc error_of(std::string_view token, std::string_view secret = test_secret(), std::int64_t at = now)
{
    auto r = verify_token(secret, token, at);
    REQUIRE(r.has_error());
    CHECK_FALSE(r.error().message.empty());
    return r.error().code;
}

std::vector<std::string> split(const std::string& token)
{
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (;;) {
        const auto dot = token.find('.', start);
        parts.push_back(token.substr(start, dot - start));
        if (dot == std::string::npos)
            return parts;
        start = dot + 1;
    }
}


} // namespace

TEST_SUITE("auth.jwt")
{
    TEST_CASE("jwt: issue then verify round trips the claims")
    {
        corvid::init_crypto();
        const auto secret = corvid::random_bytes(32);
        const auto token = issue_token(secret, {"alice \"the admin\"", now, now + 3600});
        CHECK(split(token).size() == 3);
        CHECK(token.find('=') == std::string::npos);
        auto claims = verify_token(secret, token, now + 10);
        REQUIRE(claims.has_value());
        CHECK(claims->subject == "alice \"the admin\"");
        CHECK(claims->issued_at_s == now);
        CHECK(claims->expires_at_s == now + 3600);
        CHECK(corvid::base64url_decode(split(token)[0]) == std::string(hs256));
    }

    TEST_CASE("jwt: a token is expired from its exp second on")
    {
        corvid::init_crypto();
        const auto token = issue_token(test_secret(), {"alice", now, now + 60});
        CHECK(verify_token(test_secret(), token, now + 59).has_value());
        CHECK(error_of(token, test_secret(), now + 60) == jwt_errc::expired);
        CHECK(error_of(token, test_secret(), now + 100000) == jwt_errc::expired);
    }

    TEST_CASE("jwt: a tampered payload with the old signature is bad_signature")
    {
        corvid::init_crypto();
        const auto token = issue_token(test_secret(), {"alice", now, now + 60});
        auto parts = split(token);
        auto payload = corvid::base64url_decode(parts[1]).value();
        const auto pos = payload.find("alice");
        REQUIRE(pos != std::string::npos);
        payload.replace(pos, 5, "admin");
        CHECK(error_of(parts[0] + "." + corvid::base64url_encode(payload) + "." + parts[2]) == jwt_errc::bad_signature);

        // Extending the lifetime is no better.
        payload = corvid::base64url_decode(parts[1]).value();
        const auto exp = payload.find(std::to_string(now + 60));
        REQUIRE(exp != std::string::npos);
        payload.replace(exp, 10, std::to_string(now + 999999));
        CHECK(error_of(parts[0] + "." + corvid::base64url_encode(payload) + "." + parts[2]) == jwt_errc::bad_signature);

        // A flipped signature bit as well.
        auto sig = corvid::base64url_decode(parts[2]).value();
        sig[0] = static_cast<char>(sig[0] ^ 1);
        CHECK(error_of(parts[0] + "." + parts[1] + "." + corvid::base64url_encode(sig)) == jwt_errc::bad_signature);
        // And a truncated one.
        CHECK(error_of(parts[0] + "." + parts[1] + "." + corvid::base64url_encode(sig.substr(0, 16)))
              == jwt_errc::bad_signature);
    }

    TEST_CASE("jwt: a token signed with another secret is bad_signature")
    {
        corvid::init_crypto();
        const auto token = issue_token(corvid::random_bytes(32), {"alice", now, now + 60});
        CHECK(error_of(token, corvid::random_bytes(32)) == jwt_errc::bad_signature);
    }

    TEST_CASE("jwt: any algorithm but HS256 is bad_algorithm")
    {
        corvid::init_crypto();
        const auto p = payload_json();
        // "none" with an empty signature, as an attacker would send it, and with a valid MAC.
        const auto none = make_token(test_secret(), R"({"alg":"none","typ":"JWT"})", p);
        CHECK(error_of(none.substr(0, none.rfind('.') + 1)) == jwt_errc::bad_algorithm);
        CHECK(error_of(none) == jwt_errc::bad_algorithm);
        CHECK(error_of(make_token(test_secret(), R"({"alg":"RS256"})", p)) == jwt_errc::bad_algorithm);
        CHECK(error_of(make_token(test_secret(), R"({"alg":"hs256"})", p)) == jwt_errc::bad_algorithm);
        CHECK(error_of(make_token(test_secret(), R"({"alg":"HS256 "})", p)) == jwt_errc::bad_algorithm);
        CHECK(error_of(make_token(test_secret(), R"({"alg":null})", p)) == jwt_errc::bad_algorithm);
        CHECK(error_of(make_token(test_secret(), R"({"typ":"JWT"})", p)) == jwt_errc::bad_algorithm);
        CHECK(error_of(make_token(test_secret(), R"({"alg":"HS256","crit":["exp"]})", p)) == jwt_errc::bad_algorithm);
        // Our own header spelled differently is fine.
        CHECK(verify_token(test_secret(), make_token(test_secret(), R"({ "typ":"JWT", "alg":"HS256" })", p), now)
                  .has_value());
    }

    TEST_CASE("jwt: required and typed claims")
    {
        corvid::init_crypto();
        const auto s = test_secret();
        CHECK(error_of(make_token(s, hs256, R"({"sub":"alice"})")) == jwt_errc::missing_claim);
        CHECK(error_of(make_token(s, hs256, R"({"exp":1700003600})")) == jwt_errc::missing_claim);
        CHECK(error_of(make_token(s, hs256, R"({"sub":"","exp":1700003600})")) == jwt_errc::missing_claim);
        CHECK(error_of(make_token(s, hs256, R"({"sub":"alice","exp":"1700003600"})")) == jwt_errc::malformed);
        CHECK(error_of(make_token(s, hs256, R"({"sub":"alice","exp":1700003600.5})")) == jwt_errc::malformed);
        CHECK(error_of(make_token(s, hs256, R"({"sub":"alice","exp":1e12})")) == jwt_errc::malformed);
        CHECK(error_of(make_token(s, hs256, R"({"sub":7,"exp":1700003600})")) == jwt_errc::malformed);
        CHECK(error_of(make_token(s, hs256, R"({"sub":"alice","exp":1,"exp":1700003600})")) == jwt_errc::malformed);
        CHECK(error_of(make_token(s, hs256, R"(["sub","exp"])")) == jwt_errc::malformed);
        CHECK(error_of(make_token(s, hs256, R"({"sub":"alice","exp":1700003600)")) == jwt_errc::malformed);
        auto ok = verify_token(s, make_token(s, hs256, payload_json(R"(,"role":"admin","aud":"x")")), now);
        REQUIRE(ok.has_value()); // unknown claims are ignored
        CHECK(ok->subject == "alice");
        CHECK(ok->issued_at_s == 0); // iat is optional
    }

    TEST_CASE("jwt: iat and nbf in the future beyond the allowed skew are not_yet_valid")
    {
        corvid::init_crypto();
        const auto s = test_secret();
        const auto with = [&](std::string_view claim, std::int64_t t) {
            return make_token(s, hs256, payload_json(",\"" + std::string(claim) + "\":" + std::to_string(t)));
        };
        CHECK(verify_token(s, with("iat", now + jwt_clock_skew_s), now).has_value());
        CHECK(error_of(with("iat", now + jwt_clock_skew_s + 1)) == jwt_errc::not_yet_valid);
        CHECK(verify_token(s, with("nbf", now - 5), now).has_value());
        CHECK(verify_token(s, with("nbf", now + jwt_clock_skew_s), now).has_value());
        CHECK(error_of(with("nbf", now + 3600)) == jwt_errc::not_yet_valid);
        CHECK(error_of(make_token(s, hs256, payload_json(R"(,"nbf":"soon")"))) == jwt_errc::malformed);
    }

    TEST_CASE("jwt: garbage, empty, wrong part counts and oversized input are malformed")
    {
        corvid::init_crypto();
        const auto token = issue_token(test_secret(), {"alice", now, now + 60});
        CHECK(error_of("") == jwt_errc::malformed);
        CHECK(error_of("garbage") == jwt_errc::malformed);
        CHECK(error_of("..") == jwt_errc::malformed);
        CHECK(error_of("a.b") == jwt_errc::malformed);
        CHECK(error_of(token + ".") == jwt_errc::malformed);
        CHECK(error_of(token + "." + split(token)[2]) == jwt_errc::malformed);
        CHECK(error_of(token.substr(0, token.rfind('.'))) == jwt_errc::malformed);
        CHECK(error_of("!!!." + split(token)[1] + "." + split(token)[2]) == jwt_errc::malformed);
        CHECK(error_of(corvid::base64url_encode("not json") + "." + split(token)[1] + "." + split(token)[2])
              == jwt_errc::malformed);
        CHECK(error_of(split(token)[0] + "==." + split(token)[1] + "." + split(token)[2]) == jwt_errc::malformed);
        CHECK(error_of(" " + token) == jwt_errc::malformed);
        CHECK(error_of(std::string(5000, 'a')) == jwt_errc::malformed);
        // A correctly signed token that is merely too long is refused before any work.
        const auto big = issue_token(test_secret(), {std::string(4000, 'x'), now, now + 60});
        CHECK(big.size() > max_token_bytes);
        CHECK(error_of(big) == jwt_errc::malformed);
    }

    TEST_CASE("jwt: a secret of the wrong size is a bug and throws")
    {
        corvid::init_crypto();
        CHECK_THROWS_AS(issue_token("short", {"alice", now, now + 60}), std::invalid_argument);
        CHECK_THROWS_AS((void)verify_token("short", "a.b.c", now), std::invalid_argument);
        auto r = verify_token(test_secret(), "x", now);
        CHECK_THROWS((void)r.value());
    }

    TEST_CASE("jwt: load_or_create_secret creates a 0600 file once and then reads it")
    {
        corvid::init_crypto();
        temp_dir dir;
        const auto path = dir.file("jwt.key");
        auto first = load_or_create_secret(path);
        REQUIRE(first.has_value());
        CHECK(first->size() == jwt_secret_bytes);
        struct stat st {};
        REQUIRE(::stat(path.c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0600);
        auto second = load_or_create_secret(path);
        REQUIRE(second.has_value());
        CHECK(*second == *first);
        // No temporary files are left behind.
        CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator())
              == 1);
    }

    TEST_CASE("jwt: load_or_create_secret from several threads at once agrees on one secret")
    {
        corvid::init_crypto();
        temp_dir dir;
        const auto path = dir.file("jwt.key");
        std::vector<std::string> got(8);
        std::vector<std::thread> threads;
        for (auto& g : got)
            threads.emplace_back([&path, &g] {
                auto r = load_or_create_secret(path);
                g = r ? *r : std::string("error");
            });
        for (auto& t : threads)
            t.join();
        for (const auto& g : got) {
            CHECK(g.size() == jwt_secret_bytes);
            CHECK(g == got.front());
        }
    }

    TEST_CASE("jwt: a secret file of the wrong size is an error and is left alone")
    {
        corvid::init_crypto();
        temp_dir dir;
        const auto path = dir.file("jwt.key");
        for (std::size_t size : {0, 16, 31, 33, 5000}) {
            {
                std::ofstream f(path, std::ios::binary | std::ios::trunc);
                f << std::string(size, 'x');
            }
            auto r = load_or_create_secret(path);
            REQUIRE(r.has_error());
            CHECK(r.error() == make_error_code(secret_errc::wrong_size));
            CHECK(std::filesystem::file_size(path) == size);
        }
    }

    TEST_CASE("jwt: a group-readable secret still loads (with a warning)")
    {
        corvid::init_crypto();
        temp_dir dir;
        const auto path = dir.file("jwt.key");
        {
            std::ofstream f(path, std::ios::binary);
            f << std::string(32, 's');
        }
        ::chmod(path.c_str(), 0644);
        auto r = load_or_create_secret(path);
        REQUIRE(r.has_value());
        CHECK(*r == std::string(32, 's'));
    }

    TEST_CASE("jwt: a secret in a missing directory is a system error")
    {
        corvid::init_crypto();
        temp_dir dir;
        auto r = load_or_create_secret(dir.file("missing/jwt.key"));
        REQUIRE(r.has_error());
        CHECK(r.error() == boost::system::error_code(ENOENT, boost::system::system_category()));
    }
}

TEST_SUITE("auth.jwt.generation")
{
    // Issue 12.5: a token issued before a password change still worked. Tokens now carry the
    // user's token generation ("gen"); operator_auth compares it with the stored one.
    TEST_CASE("jwt: issue12_5 the token generation round trips as gen, absent is 0, negative is malformed")
    {
        const auto token = issue_token(test_secret(), {"alice", now, now + 60, 7});
        auto claims = verify_token(test_secret(), token, now);
        REQUIRE(claims.has_value());
        CHECK(claims->generation == 7);
        const auto payload = corvid::base64url_decode(token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1));
        REQUIRE(payload.has_value());
        CHECK(payload->find("\"gen\":7") != std::string::npos);

        // Tokens issued before schema v4 have no "gen": they count as generation 0.
        auto old = verify_token(test_secret(), make_token(test_secret(), hs256, payload_json()), now);
        REQUIRE(old.has_value());
        CHECK(old->generation == 0);

        CHECK(error_of(make_token(test_secret(), hs256, payload_json(R"(,"gen":-1)"))) == jwt_errc::malformed);
        CHECK(error_of(make_token(test_secret(), hs256, payload_json(R"(,"gen":"1")"))) == jwt_errc::malformed);
        CHECK(error_of(make_token(test_secret(), hs256, payload_json(R"(,"gen":1,"gen":2)"))) == jwt_errc::malformed);
    }
}
