#include "common/tls_pin.hpp"

#include <doctest/doctest.h>
#include <string>

using corvid::format_sha256_fingerprint;
using corvid::normalize_sha256_fingerprint;

TEST_SUITE("common.tls_pin")
{
    const std::string hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    TEST_CASE("normalize_sha256_fingerprint: openssl's form, bare hex, any case, blanks trimmed")
    {
        CHECK(normalize_sha256_fingerprint(hex) == hex);
        CHECK(normalize_sha256_fingerprint(format_sha256_fingerprint(hex)) == hex);
        std::string upper = format_sha256_fingerprint(hex);
        CHECK(upper.substr(0, 6) == "01:23:");
        CHECK(normalize_sha256_fingerprint("  " + upper + "\t") == hex);
        std::string mixed = hex;
        mixed[10] = 'A';
        CHECK(normalize_sha256_fingerprint(mixed) == std::optional<std::string>(std::string(hex).replace(10, 1, "a")));
    }

    TEST_CASE("normalize_sha256_fingerprint: anything else is not a fingerprint")
    {
        CHECK_FALSE(normalize_sha256_fingerprint(""));
        CHECK_FALSE(normalize_sha256_fingerprint(hex.substr(0, 63)));
        CHECK_FALSE(normalize_sha256_fingerprint(hex + "0"));
        CHECK_FALSE(normalize_sha256_fingerprint(hex.substr(0, 40))); // a SHA-1 fingerprint
        std::string bad = hex;
        bad[5] = 'g';
        CHECK_FALSE(normalize_sha256_fingerprint(bad));
        CHECK_FALSE(normalize_sha256_fingerprint("sha256:" + hex));
    }
}
