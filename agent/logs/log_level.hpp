#pragma once
// The level of a log entry (proto::log_entry::level: DEBUG, INFO, NOTICE, WARN, ERROR, CRIT):
// guessed from the first words of a file's line, or mapped from a journal entry's PRIORITY.
// Pure functions; any thread.
#include <string_view>

namespace corvid::agent::logs {

// Looks at the words (runs of ASCII letters) in the first `level_scan_bytes` bytes of `line` and
// returns the level of the first one that names a level, case-insensitively: EMERG, ALERT, CRIT,
// CRITICAL, FATAL, PANIC -> CRIT; ERROR, ERR -> ERROR; WARN, WARNING -> WARN; NOTICE; INFO;
// DEBUG, TRACE -> DEBUG. So "[error]" (nginx), "level=warn" (logfmt), "INFO" (Python, Java) and
// {"level":"debug"} are found while "errors" or "information" are not. A glog prefix such as
// "E1122 12:00:00.000000" (letter, four digits, space) is recognised too. Anything else is INFO.
// A heuristic: a level word early in the text of a message also counts.
std::string_view level_of_line(std::string_view line);
inline constexpr std::size_t level_scan_bytes = 80;

// Syslog priority to level: 0-2 (emerg, alert, crit) CRIT, 3 ERROR, 4 WARN, 5 NOTICE, 6 INFO,
// 7 DEBUG; anything out of range is INFO.
std::string_view level_of_priority(int priority);

} // namespace corvid::agent::logs
