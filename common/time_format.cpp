#include "common/time_format.hpp"

#include <chrono>
#include <fmt/format.h>

namespace corvid {
namespace {
// Howard Hinnant's days_from_civil / civil_from_days: exact for the proleptic Gregorian calendar.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d)
{
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
}

bool read_digits(std::string_view s, std::size_t pos, std::size_t n, unsigned& out)
{
    if (pos + n > s.size())
        return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        out = out * 10 + static_cast<unsigned>(s[i] - '0');
    }
    return true;
}

bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
} // namespace

std::int64_t now_unix_ms()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_iso8601_ms(std::int64_t unix_ms)
{
    std::int64_t days = unix_ms / 86'400'000;
    std::int64_t rem = unix_ms % 86'400'000;
    if (rem < 0) {
        rem += 86'400'000;
        --days;
    }
    std::int64_t y;
    unsigned m, d;
    civil_from_days(days, y, m, d);
    const auto ms = rem % 1000;
    const auto s = rem / 1000;
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", y, m, d, s / 3600, (s / 60) % 60, s % 60, ms);
}

std::optional<std::int64_t> parse_iso8601_ms(std::string_view t)
{
    unsigned y, mo, d, h, mi, s;
    if (!read_digits(t, 0, 4, y) || t.size() < 20 || t[4] != '-' || !read_digits(t, 5, 2, mo) || t[7] != '-'
        || !read_digits(t, 8, 2, d) || t[10] != 'T' || !read_digits(t, 11, 2, h) || t[13] != ':'
        || !read_digits(t, 14, 2, mi) || t[16] != ':' || !read_digits(t, 17, 2, s))
        return std::nullopt;
    static constexpr unsigned month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59)
        return std::nullopt;
    if (d > month_days[mo - 1] + ((mo == 2 && is_leap(y)) ? 1u : 0u))
        return std::nullopt;
    std::size_t pos = 19;
    unsigned ms = 0;
    if (t[pos] == '.') {
        ++pos;
        std::size_t digits = 0;
        while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
            if (digits < 3)
                ms = ms * 10 + static_cast<unsigned>(t[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0 || digits > 9)
            return std::nullopt;
        for (; digits < 3; ++digits)
            ms *= 10;
    }
    if (pos + 1 != t.size() || t[pos] != 'Z')
        return std::nullopt;
    const std::int64_t days = days_from_civil(y, mo, d);
    return ((days * 24 + h) * 60 + mi) * 60'000 + static_cast<std::int64_t>(s) * 1000 + ms;
}

} // namespace corvid
