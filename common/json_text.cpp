#include "common/json_text.hpp"

#include <cmath>
#include <fmt/format.h>

namespace corvid {
namespace {
constexpr std::string_view replacement = "\xEF\xBF\xBD";

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }
} // namespace

std::size_t utf8_sequence_length(std::string_view s, std::size_t i)
{
    const auto c0 = static_cast<unsigned char>(s[i]);
    if (c0 < 0x80)
        return 1;
    auto at = [&](std::size_t k) -> int { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : -1; };
    // Ranges from RFC 3629 section 4: rejects overlongs, surrogates and code points above U+10FFFF.
    if (c0 >= 0xC2 && c0 <= 0xDF)
        return at(1) >= 0 && is_continuation(static_cast<unsigned char>(at(1))) ? 2 : 0;
    if (c0 >= 0xE0 && c0 <= 0xEF) {
        const int c1 = at(1), c2 = at(2);
        if (c1 < 0 || c2 < 0 || !is_continuation(static_cast<unsigned char>(c2)))
            return 0;
        const int lo = c0 == 0xE0 ? 0xA0 : 0x80, hi = c0 == 0xED ? 0x9F : 0xBF;
        return c1 >= lo && c1 <= hi ? 3 : 0;
    }
    if (c0 >= 0xF0 && c0 <= 0xF4) {
        const int c1 = at(1), c2 = at(2), c3 = at(3);
        if (c1 < 0 || c2 < 0 || c3 < 0 || !is_continuation(static_cast<unsigned char>(c2))
            || !is_continuation(static_cast<unsigned char>(c3)))
            return 0;
        const int lo = c0 == 0xF0 ? 0x90 : 0x80, hi = c0 == 0xF4 ? 0x8F : 0xBF;
        return c1 >= lo && c1 <= hi ? 4 : 0;
    }
    return 0;
}

void append_json_string(std::string& out, std::string_view s)
{
    out.reserve(out.size() + s.size() + 2);
    out.push_back('"');
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            const auto n = utf8_sequence_length(s, i);
            if (n == 0) {
                out.append(replacement);
                ++i;
            } else {
                out.append(s.substr(i, n));
                i += n;
            }
            continue;
        }
        switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        case '\b': out.append("\\b"); break;
        case '\f': out.append("\\f"); break;
        default:
            if (c < 0x20 || c == 0x7F)
                fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
            else
                out.push_back(static_cast<char>(c));
        }
        ++i;
    }
    out.push_back('"');
}

std::string json_string(std::string_view s)
{
    std::string out;
    append_json_string(out, s);
    return out;
}

void append_json_number(std::string& out, double v)
{
    if (!std::isfinite(v))
        v = 0;
    // fmt's default for double is the shortest representation that round-trips.
    fmt::format_to(std::back_inserter(out), "{}", v);
}

std::string make_valid_utf8(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const auto n = utf8_sequence_length(s, i);
        if (n == 0) {
            out.append(replacement);
            ++i;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

} // namespace corvid
