#include "collector/auth/password.hpp"

#include <doctest/doctest.h>
#include <string>

#include "common/random.hpp"

using namespace corvid::collector;

TEST_SUITE("auth.password")
{
    TEST_CASE("password: hash then verify round trips, a wrong password fails")
    {
        corvid::init_crypto();
        const auto hash = hash_password("correct horse battery staple");
        CHECK(hash.starts_with("$argon2id$"));
        CHECK(hash.find("correct") == std::string::npos);
        CHECK(verify_password(hash, "correct horse battery staple"));
        CHECK_FALSE(verify_password(hash, "correct horse battery stapl"));
        CHECK_FALSE(verify_password(hash, ""));
        CHECK_FALSE(password_needs_rehash(hash));
    }

    TEST_CASE("password: each hash has its own salt")
    {
        corvid::init_crypto();
        const auto a = hash_password("same");
        const auto b = hash_password("same");
        CHECK(a != b);
        CHECK(verify_password(a, "same"));
        CHECK(verify_password(b, "same"));
    }

    TEST_CASE("password: passwords with NUL bytes and non-ASCII are hashed whole")
    {
        corvid::init_crypto();
        const std::string pw("pa\0ss\xc3\xa9", 7);
        const auto hash = hash_password(pw);
        CHECK(verify_password(hash, pw));
        CHECK_FALSE(verify_password(hash, "pa"));
    }

    TEST_CASE("password: garbage hashes never verify")
    {
        corvid::init_crypto();
        CHECK_FALSE(verify_password("", ""));
        CHECK_FALSE(verify_password("not a hash", "not a hash"));
        CHECK_FALSE(verify_password("$argon2id$v=19$m=65536,t=2,p=1$garbage", "x"));
        CHECK_FALSE(verify_password(std::string(500, 'a'), "x"));
        auto hash = hash_password("pw");
        CHECK_FALSE(verify_password(std::string(hash) + std::string(1, '\0'), "pw"));
        hash.back() = hash.back() == 'A' ? 'B' : 'A'; // damage the digest
        CHECK_FALSE(verify_password(hash, "pw"));
        CHECK(password_needs_rehash("not a hash"));
    }
}
