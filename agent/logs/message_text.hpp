#pragma once
// The text of a log entry from the raw bytes of a line or a journal MESSAGE, which may hold
// anything: the result is valid UTF-8 of bounded size, so the encoder and the collector can take
// it as it is. Pure; any thread.
#include <cstddef>
#include <string>
#include <string_view>

namespace corvid::agent::logs {

struct message_text {
    std::string text;
    bool truncated = false; // bytes were cut off the end to fit max_bytes
};

// Drops one trailing '\r' (CRLF files), replaces each byte that is not part of well-formed UTF-8,
// and each NUL (which C-string tools downstream would stop at), with U+FFFD, and cuts the result
// to at most `max_bytes` without splitting a character. Other control characters are kept; the
// JSON encoder escapes them.
message_text clean_message(std::string_view raw, std::size_t max_bytes);

} // namespace corvid::agent::logs
