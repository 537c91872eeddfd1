#include "agent/logs/message_text.hpp"

#include <doctest/doctest.h>
#include <string>

using corvid::agent::logs::clean_message;

namespace {
const std::string fffd = "\xEF\xBF\xBD";
}

TEST_SUITE("logs.message_text")
{
    TEST_CASE("logs clean_message: a trailing CR is dropped, other text kept as it is")
    {
        auto m = clean_message("hello\r", 256);
        CHECK(m.text == "hello");
        CHECK_FALSE(m.truncated);
        CHECK(clean_message("a\rb", 256).text == "a\rb");
        CHECK(clean_message("tab\tesc\x1b[0m", 256).text == "tab\tesc\x1b[0m");
    }

    TEST_CASE("logs clean_message: ill-formed UTF-8 and NUL become U+FFFD, one per byte")
    {
        CHECK(clean_message("a\xFFz", 256).text == "a" + fffd + "z");
        CHECK(clean_message("\xC3", 256).text == fffd);                 // sequence cut short
        CHECK(clean_message("\xE2\x82", 256).text == fffd + fffd);
        CHECK(clean_message("\xC0\xAF", 256).text == fffd + fffd);      // overlong '/'
        CHECK(clean_message("\xED\xA0\x80", 256).text == fffd + fffd + fffd); // surrogate
        CHECK(clean_message(std::string("a\0b", 3), 256).text == "a" + fffd + "b");
        CHECK(clean_message("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", 256).text == "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
        CHECK_FALSE(clean_message("a\xFFz", 256).truncated);
    }

    TEST_CASE("logs clean_message: cut to max_bytes at a character boundary and flagged")
    {
        // 255 ASCII bytes then a 3-byte euro sign: it does not fit in 256, so it goes whole.
        const std::string text = std::string(255, 'a') + "\xE2\x82\xAC" + "tail";
        auto m = clean_message(text, 256);
        CHECK(m.text == std::string(255, 'a'));
        CHECK(m.truncated);
        // Exactly max_bytes fits.
        m = clean_message(std::string(256, 'b'), 256);
        CHECK(m.text.size() == 256);
        CHECK_FALSE(m.truncated);
        // A CR that would be the 257th byte is the line ending, not content.
        m = clean_message(std::string(256, 'b') + "\r", 256);
        CHECK(m.text.size() == 256);
        CHECK_FALSE(m.truncated);
        // Replacement characters count after the repair: 100 bad bytes are 300 bytes of text.
        m = clean_message(std::string(100, '\xFF'), 256);
        CHECK(m.text.size() == 255); // 85 whole replacement characters
        CHECK(m.truncated);
        // A four-byte character straddling the limit is not split.
        m = clean_message(std::string(254, 'c') + "\xF0\x9F\x98\x80", 256);
        CHECK(m.text == std::string(254, 'c'));
        CHECK(m.truncated);
    }
}
