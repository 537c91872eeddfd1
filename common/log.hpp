#pragma once
// Process-wide logging to stderr. Under systemd (JOURNAL_STREAM set) each line starts with the
// sd-daemon "<N>" priority prefix so the journal records the right level; on a terminal each line
// starts with a UTC timestamp and the level name. Thread-safe: one write(2) per line.
// Every message is escaped here, whatever its values came from: control characters become \n,
// \r, \t or \xNN and bytes that are not UTF-8 become \xNN, so text from the network (a host
// name, a user name, a command) can never end a line, forge a "<N>" priority prefix of its own,
// or drive a terminal (issue 12.9).
#include <fmt/format.h>
#include <string>
#include <string_view>

namespace corvid::log {

enum class level { debug = 7, info = 6, notice = 5, warning = 4, error = 3, critical = 2 };

void set_min_level(level l);
bool parse_level(std::string_view name, level& out);
void write(level l, std::string_view message);
// The message as write() prints it: one line of valid UTF-8 with no control characters.
std::string escaped(std::string_view message);

template <class... Args> void debug(fmt::format_string<Args...> f, Args&&... a) { write(level::debug, fmt::format(f, std::forward<Args>(a)...)); }
template <class... Args> void info(fmt::format_string<Args...> f, Args&&... a) { write(level::info, fmt::format(f, std::forward<Args>(a)...)); }
template <class... Args> void notice(fmt::format_string<Args...> f, Args&&... a) { write(level::notice, fmt::format(f, std::forward<Args>(a)...)); }
template <class... Args> void warn(fmt::format_string<Args...> f, Args&&... a) { write(level::warning, fmt::format(f, std::forward<Args>(a)...)); }
template <class... Args> void error(fmt::format_string<Args...> f, Args&&... a) { write(level::error, fmt::format(f, std::forward<Args>(a)...)); }

} // namespace corvid::log
