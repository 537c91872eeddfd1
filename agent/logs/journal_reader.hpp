#pragma once
// The systemd journal as a log source (libsystemd sd-journal): the local system journal, or the
// journal files of one directory ([logs.journal] directory). Entries of the configured units
// (_SYSTEMD_UNIT matches, any of them) at min_priority or more severe become log entries:
//   level     from PRIORITY (log_level.hpp; an entry without one counts as info)
//   timestamp __REALTIME_TIMESTAMP
//   source    "journal:<_SYSTEMD_UNIT>", else "journal:<SYSLOG_IDENTIFIER>", else "journal"
//   message   MESSAGE, cleaned like a file's line (it may be binary); entries without one are skipped
// The position is the journal cursor of the last entry consumed (shipped, filtered or dropped).
// New entries appended to open journal files are seen by the next poll; new files (journald's
// rotation) through sd_journal_process and the inotify descriptor opened at start.
// The whole journal is one source for the rate limit. Blocking; no exceptions; an error is logged
// once and the call retried at the next poll. One thread at a time (the log reader's).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/logs/logs_config.hpp"
#include "agent/logs/rate_limiter.hpp"
#include "proto/messages.hpp"

struct sd_journal;

namespace corvid::agent::logs {

// Entries looked at per read() of the log reader, shipped or not: bounds the time a read takes
// when min_priority filters out a flood.
inline constexpr std::size_t journal_entries_per_read = 10000;

class journal_reader {
public:
    journal_reader(const journal_source_config& cfg, std::uint32_t rate_limit_per_s, std::size_t max_message_bytes);
    ~journal_reader();
    journal_reader(const journal_reader&) = delete;
    journal_reader& operator=(const journal_reader&) = delete;

    // Only entries added from now on.
    void start_at_end();
    // After the entry `cursor` names (the entry itself is skipped when it still exists).
    void restore(const std::string& cursor);

    void start_round() { budget_ = journal_entries_per_read; }
    // As file_follower::poll: appends until `out` holds max_size entries or nothing is left;
    // true when it stopped for max_size.
    bool poll(std::int64_t now_ms, std::size_t max_size, std::vector<proto::log_entry>& out);

    // The cursor of the last entry consumed, if there has been one.
    const std::optional<std::string>& cursor() const { return cursor_; }

private:
    bool open();
    bool position();
    void close();
    void warn_once(const char* what, int error);
    std::optional<proto::log_entry> entry_at(std::int64_t now_ms);
    void remember_cursor();

    journal_source_config cfg_;
    std::size_t max_message_bytes_;
    rate_limiter limiter_;
    sd_journal* journal_ = nullptr;
    std::optional<std::string> cursor_;
    std::optional<std::string> start_cursor_; // to seek to once open; none = the end
    bool positioned_ = false;
    bool current_pending_ = false; // the current entry is not consumed yet (after a restore)
    std::size_t budget_ = journal_entries_per_read;
    int warned_error_ = 0;
};

} // namespace corvid::agent::logs
