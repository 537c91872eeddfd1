#include "common/log.hpp"

#include <algorithm>
#include <atomic>
#include <iterator>
#include <chrono>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "common/json_text.hpp"
#include "common/time_format.hpp"

namespace corvid::log {
namespace {
std::atomic<int> min_level{static_cast<int>(level::info)};

bool to_journal()
{
    static const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
    return journal;
}

std::string_view name_of(level l)
{
    switch (l) {
    case level::debug: return "DEBUG";
    case level::info: return "INFO";
    case level::notice: return "NOTICE";
    case level::warning: return "WARN";
    case level::error: return "ERROR";
    case level::critical: return "CRIT";
    }
    return "?";
}

void append_hex_escape(std::string& out, unsigned char c) { fmt::format_to(std::back_inserter(out), "\\x{:02x}", c); }
} // namespace

std::string escaped(std::string_view message)
{
    std::string out;
    out.reserve(message.size());
    for (std::size_t i = 0; i < message.size();) {
        const auto c = static_cast<unsigned char>(message[i]);
        const std::size_t n = utf8_sequence_length(message, i);
        if (c == '\n')
            out += "\\n";
        else if (c == '\r')
            out += "\\r";
        else if (c == '\t')
            out += "\\t";
        else if (n == 0 || c < 0x20 || c == 0x7f) {
            append_hex_escape(out, c);
            i += 1; // an invalid byte is escaped alone; what follows may be valid again
            continue;
        } else if (n == 2 && c == 0xc2 && static_cast<unsigned char>(message[i + 1]) < 0xa0) {
            // C1 controls (U+0080..U+009F): CSI among them drives terminals as ESC [ does.
            append_hex_escape(out, c);
            append_hex_escape(out, static_cast<unsigned char>(message[i + 1]));
        } else
            out.append(message.substr(i, n));
        i += n;
    }
    return out;
}

void set_min_level(level l) { min_level = static_cast<int>(l); }

bool parse_level(std::string_view name, level& out)
{
    if (name == "debug") out = level::debug;
    else if (name == "info") out = level::info;
    else if (name == "notice") out = level::notice;
    else if (name == "warn" || name == "warning") out = level::warning;
    else if (name == "error") out = level::error;
    else return false;
    return true;
}

void write(level l, std::string_view message)
{
    if (static_cast<int>(l) > min_level.load(std::memory_order_relaxed))
        return;
    const std::string text = escaped(message);
    std::string line;
    if (to_journal())
        line = fmt::format("<{}>{}\n", static_cast<int>(l), text);
    else
        line = fmt::format("{} {} {}\n", format_iso8601_ms(now_unix_ms()), name_of(l), text);
    // One write per line keeps lines from different threads whole.
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

} // namespace corvid::log
