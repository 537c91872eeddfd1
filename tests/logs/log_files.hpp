#pragma once
// For the log source tests: appending to, renaming and truncating real files, and a logs_config
// that follows one pattern. Tests only; single-threaded.
#include <cstdio>
#include <fcntl.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include "agent/logs/logs_config.hpp"
#include "proto/messages.hpp"

namespace corvid::test {

// Appends with O_APPEND, as a logging program does; creates the file if needed.
inline void append(const std::string& path, std::string_view text)
{
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        throw std::runtime_error("cannot open " + path);
    while (!text.empty()) {
        const auto n = ::write(fd, text.data(), text.size());
        if (n <= 0) {
            ::close(fd);
            throw std::runtime_error("cannot write " + path);
        }
        text.remove_prefix(static_cast<std::size_t>(n));
    }
    ::close(fd);
}

inline void rename_file(const std::string& from, const std::string& to)
{
    if (std::rename(from.c_str(), to.c_str()) != 0)
        throw std::runtime_error("cannot rename " + from);
}

inline void truncate_file(const std::string& path)
{
    if (::truncate(path.c_str(), 0) != 0)
        throw std::runtime_error("cannot truncate " + path);
}

inline agent::logs_config files_config(std::vector<std::string> patterns)
{
    agent::logs_config cfg;
    for (auto& p : patterns)
        cfg.files.push_back({std::move(p)});
    cfg.rate_limit_per_s = agent::max_log_rate_per_s;
    return cfg;
}

inline std::vector<std::string> messages(const std::vector<proto::log_entry>& entries)
{
    std::vector<std::string> out;
    for (const auto& e : entries)
        out.push_back(e.message);
    return out;
}

inline std::vector<std::string> messages_of(const std::vector<proto::log_entry>& entries, std::string_view source)
{
    std::vector<std::string> out;
    for (const auto& e : entries)
        if (e.source == source)
            out.push_back(e.message);
    return out;
}

} // namespace corvid::test
