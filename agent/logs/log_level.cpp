#include "agent/logs/log_level.hpp"

#include <cstddef>

namespace corvid::agent::logs {
namespace {

struct level_word {
    std::string_view word; // lower case
    std::string_view level;
};

constexpr level_word level_words[] = {
    {"emerg", "CRIT"},   {"emergency", "CRIT"}, {"alert", "CRIT"}, {"crit", "CRIT"},   {"critical", "CRIT"},
    {"fatal", "CRIT"},   {"panic", "CRIT"},     {"error", "ERROR"}, {"err", "ERROR"},  {"warn", "WARN"},
    {"warning", "WARN"}, {"notice", "NOTICE"},  {"info", "INFO"},  {"debug", "DEBUG"}, {"trace", "DEBUG"},
};

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_lower(std::string_view word, std::string_view lower_word)
{
    if (word.size() != lower_word.size())
        return false;
    for (std::size_t i = 0; i < word.size(); ++i)
        if (lower(word[i]) != lower_word[i])
            return false;
    return true;
}

std::string_view level_of_word(std::string_view word)
{
    for (const auto& w : level_words)
        if (equals_lower(word, w.word))
            return w.level;
    return {};
}

// glog and its descendants (Kubernetes components): "Lmmdd hh:mm:ss.uuuuuu ...", L one of IWEF.
std::string_view level_of_glog_prefix(std::string_view line)
{
    if (line.size() < 6 || line[5] != ' ')
        return {};
    for (std::size_t i = 1; i < 5; ++i)
        if (!is_digit(line[i]))
            return {};
    switch (line[0]) {
    case 'I': return "INFO";
    case 'W': return "WARN";
    case 'E': return "ERROR";
    case 'F': return "CRIT";
    default: return {};
    }
}

} // namespace

std::string_view level_of_line(std::string_view line)
{
    if (const auto glog = level_of_glog_prefix(line); !glog.empty())
        return glog;
    const auto head = line.substr(0, level_scan_bytes);
    std::size_t i = 0;
    while (i < head.size()) {
        if (!is_letter(head[i])) {
            ++i;
            continue;
        }
        const std::size_t start = i;
        while (i < head.size() && is_letter(head[i]))
            ++i;
        // A word cut by the scan limit is not a whole word.
        if (i == head.size() && head.size() < line.size() && is_letter(line[i]))
            break;
        if (const auto level = level_of_word(head.substr(start, i - start)); !level.empty())
            return level;
    }
    return "INFO";
}

std::string_view level_of_priority(int priority)
{
    switch (priority) {
    case 0:
    case 1:
    case 2: return "CRIT";
    case 3: return "ERROR";
    case 4: return "WARN";
    case 5: return "NOTICE";
    case 6: return "INFO";
    case 7: return "DEBUG";
    default: return "INFO";
    }
}

} // namespace corvid::agent::logs
