#pragma once
// Wall-clock time as the wire protocol writes it: ISO 8601 UTC with milliseconds and 'Z'
// ("2026-01-01T00:00:05.000Z"), carried internally as signed milliseconds since the Unix epoch.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace corvid {

std::int64_t now_unix_ms();
std::string format_iso8601_ms(std::int64_t unix_ms);
// Accepts "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (fraction of 1 to 9 digits, truncated to ms).
// Anything else, including out-of-range fields, yields nullopt.
std::optional<std::int64_t> parse_iso8601_ms(std::string_view text);

} // namespace corvid
