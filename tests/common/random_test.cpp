#include "common/random.hpp"

#include <doctest/doctest.h>
#include <set>

TEST_SUITE("common.random")
{
    TEST_CASE("uuid_v4: well formed, version 4, distinct")
    {
        corvid::init_crypto();
        std::set<std::string> seen;
        for (int i = 0; i < 100; ++i) {
            const auto id = corvid::uuid_v4();
            CHECK(corvid::is_uuid(id));
            CHECK(id[14] == '4');
            CHECK(std::string("89ab").find(id[19]) != std::string::npos);
            seen.insert(id);
        }
        CHECK(seen.size() == 100);
        CHECK_FALSE(corvid::is_uuid("not-a-uuid"));
        CHECK_FALSE(corvid::is_uuid("123e4567-e89b-12d3-a456-42661417400G"));
    }

    TEST_CASE("base64url: round trip and strict decoding")
    {
        corvid::init_crypto();
        const std::string bytes("\x00\xff\xfe binary", 10);
        const auto text = corvid::base64url_encode(bytes);
        CHECK(text.find('=') == std::string::npos);
        CHECK(corvid::base64url_decode(text) == bytes);
        CHECK_FALSE(corvid::base64url_decode("ab$d"));
        CHECK_FALSE(corvid::base64url_decode("abc="));
        CHECK(corvid::base64_decode(corvid::base64_encode(bytes)) == bytes);
        CHECK(corvid::hex_encode("\x01\xab") == "01ab");
    }
}
