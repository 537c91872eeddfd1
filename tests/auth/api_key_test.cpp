#include "collector/auth/api_key.hpp"

#include <doctest/doctest.h>
#include <set>
#include <string>

#include "common/random.hpp"

using namespace corvid::collector;

TEST_SUITE("auth.api_key")
{
    TEST_CASE("api_key: format is cvd_ plus 43 base64url characters carrying 32 bytes")
    {
        corvid::init_crypto();
        const auto key = generate_api_key();
        CHECK(key.size() == api_key_length);
        CHECK(key.starts_with("cvd_"));
        CHECK(looks_like_api_key(key));
        const auto bytes = corvid::base64url_decode(key.substr(4));
        REQUIRE(bytes.has_value());
        CHECK(bytes->size() == 32);
    }

    TEST_CASE("api_key: keys are distinct")
    {
        corvid::init_crypto();
        std::set<std::string> seen;
        for (int i = 0; i < 200; ++i)
            seen.insert(generate_api_key());
        CHECK(seen.size() == 200);
    }

    TEST_CASE("api_key: looks_like_api_key rejects garbage")
    {
        corvid::init_crypto();
        const auto key = generate_api_key();
        CHECK_FALSE(looks_like_api_key(""));
        CHECK_FALSE(looks_like_api_key("cvd_"));
        CHECK_FALSE(looks_like_api_key(key.substr(0, key.size() - 1)));
        CHECK_FALSE(looks_like_api_key(key + "A"));
        CHECK_FALSE(looks_like_api_key("xyz_" + key.substr(4)));
        CHECK_FALSE(looks_like_api_key("CVD_" + key.substr(4)));
        std::string bad = key;
        bad[10] = '+';
        CHECK_FALSE(looks_like_api_key(bad));
        bad[10] = '=';
        CHECK_FALSE(looks_like_api_key(bad));
        bad[10] = '\0';
        CHECK_FALSE(looks_like_api_key(bad));
        CHECK(looks_like_api_key("cvd_" + std::string(43, '-')));
    }

    TEST_CASE("api_key: hash is stable lowercase hex SHA-256 and differs per key")
    {
        corvid::init_crypto();
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        CHECK(hash_api_key("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        const auto key = generate_api_key();
        const auto h = hash_api_key(key);
        CHECK(h.size() == 64);
        CHECK(h.find_first_not_of("0123456789abcdef") == std::string::npos);
        CHECK(hash_api_key(key) == h);
        CHECK(hash_api_key(generate_api_key()) != h);
    }

    TEST_CASE("api_key: hash comparison")
    {
        corvid::init_crypto();
        const auto a = hash_api_key("cvd_a");
        const auto b = hash_api_key("cvd_b");
        CHECK(api_key_hash_equal(a, std::string(a)));
        CHECK_FALSE(api_key_hash_equal(a, b));
        CHECK_FALSE(api_key_hash_equal(a, a.substr(0, 63)));
        CHECK_FALSE(api_key_hash_equal(a, ""));
        CHECK(api_key_hash_equal("", ""));
        std::string last = a;
        last.back() = last.back() == '0' ? '1' : '0';
        CHECK_FALSE(api_key_hash_equal(a, last));
    }
}
