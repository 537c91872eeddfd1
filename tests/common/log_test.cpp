#include "common/log.hpp"

#include <algorithm>
#include <cstdio>
#include <doctest/doctest.h>
#include <unistd.h>

#include "common/file_util.hpp"
#include "tests/support/temp_dir.hpp"

namespace corvid::log {
namespace {

// What log::warn prints to stderr, captured through a real file.
std::string printed(std::string_view value)
{
    test::temp_dir dir;
    const std::string path = dir.file("stderr");
    const int saved = ::dup(STDERR_FILENO);
    FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f);
    ::dup2(::fileno(f), STDERR_FILENO);
    warn("failed login for user '{}' from {}", value, "127.0.0.1");
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    std::fclose(f);
    auto text = read_file(path);
    REQUIRE(text);
    return *text;
}

} // namespace

TEST_SUITE("log")
{
    // Issue 12.9: a login user name (or host name, or command) with "\n<2>FORGED" made a second
    // log line with its own journal priority.
    TEST_CASE("log: issue 12.9 a value with a newline and a priority prefix cannot forge a line")
    {
        const auto out = printed("bob\n<2>FORGED critical line\r\x1b[2J");
        CHECK(std::count(out.begin(), out.end(), '\n') == 1);
        CHECK(out.back() == '\n');
        CHECK(out.find("bob\\n<2>FORGED critical line\\r\\x1b[2J' from 127.0.0.1") != std::string::npos);
        CHECK(out.find('\r') == std::string::npos);
        CHECK(out.find('\x1b') == std::string::npos);
    }

    TEST_CASE("log: escaped keeps UTF-8 text and escapes controls, C1 controls and invalid bytes")
    {
        CHECK(escaped("plain text: ok") == "plain text: ok");
        CHECK(escaped("grüße 日本 🙂") == "grüße 日本 🙂");
        CHECK(escaped("a\tb") == "a\\tb");
        CHECK(escaped(std::string_view("nul\0here", 8)) == "nul\\x00here");
        CHECK(escaped("del\x7f") == "del\\x7f");
        CHECK(escaped("csi\xc2\x9b" "2J") == "csi\\xc2\\x9b2J");
        CHECK(escaped("bad\xff\xfe") == "bad\\xff\\xfe");
        CHECK(escaped("cut\xe6\x97") == "cut\\xe6\\x97");             // a truncated sequence
        CHECK(escaped("overlong\xc0\xaf") == "overlong\\xc0\\xaf");   // an overlong '/'
        CHECK(escaped("surrogate\xed\xa0\x80") == "surrogate\\xed\\xa0\\x80");
    }
}

} // namespace corvid::log
