#pragma once
// Writing JSON text by hand (with fmt) needs exactly one careful piece: string escaping.
// Strings are written as valid UTF-8 JSON whatever bytes they hold: quotes, backslashes and
// control characters are escaped, and each byte that is not part of a well-formed UTF-8
// sequence becomes U+FFFD (the replacement character). See proto/PROTOCOL.md, "Strings".
#include <string>
#include <string_view>

namespace corvid {

// Appends `s` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view s);
std::string json_string(std::string_view s);

// Appends a finite double with up to 17 significant digits, shortest round-trip form;
// non-finite values (which JSON cannot carry) are written as 0.
void append_json_number(std::string& out, double v);

// Returns `s` with ill-formed UTF-8 replaced by U+FFFD, one per bad byte.
std::string make_valid_utf8(std::string_view s);

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 if none starts there.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

} // namespace corvid
