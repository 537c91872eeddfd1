#include "common/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <unistd.h>

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
} // namespace

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
    std::string line;
    if (to_journal())
        line = fmt::format("<{}>{}\n", static_cast<int>(l), message);
    else
        line = fmt::format("{} {} {}\n", format_iso8601_ms(now_unix_ms()), name_of(l), message);
    // One write per line keeps lines from different threads whole.
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

} // namespace corvid::log
