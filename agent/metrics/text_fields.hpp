#pragma once
// Line and field splitting and strict number parsing for the kernel's text files under /proc.
// The text is untrusted (a fuzzer feeds these), so nothing here assumes a well-formed line:
// numbers must fill their whole token and fit their type, or the parse says no.
// Pure functions; safe from any thread.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace corvid::agent::metrics {

// Takes the next line (without its '\n') off the front of `text`; false once `text` is used up.
bool next_line(std::string_view& text, std::string_view& line);

// The fields of a line, separated by runs of spaces and tabs.
std::vector<std::string_view> split_fields(std::string_view line);

// `s` without leading and trailing spaces and tabs.
std::string_view trim(std::string_view s);

// A decimal unsigned integer filling the whole token: no sign, no spaces, no overflow.
std::optional<std::uint64_t> parse_u64(std::string_view token);

// A finite decimal number filling the whole token ("0.52", "1e3"; not "nan" or "inf").
std::optional<double> parse_double(std::string_view token);

} // namespace corvid::agent::metrics
