#pragma once
// One log file followed by its inode: the lines appended to it become log entries. Which files
// there are, and when one was rotated or deleted, is file_set's business (it calls detach());
// this class reads one inode through one descriptor, so it keeps reading a file after it was
// renamed or deleted, and notices truncation (copytruncate) by the size dropping below its offset.
// Rules (agent/logs/README.md):
//  - a line ends at '\n'; a trailing '\r' is dropped; blank lines are skipped;
//  - an unterminated last line is held until its '\n' comes, except that it is shipped as it is
//    when it has waited partial_line_wait_ms, when the file is truncated, or when a detached file
//    is closed; a line longer than max_message_bytes is shipped cut (truncated) at once and the
//    rest of it, up to its '\n', discarded;
//  - at most bytes_per_poll bytes are read per poll, chunk_bytes at a time, so a huge file cannot
//    hold up the other sources; memory is bounded by max_message_bytes + chunk_bytes;
//  - lines over the rate limit are consumed and counted (rate_limiter).
// Blocking I/O on a regular file; no exceptions; I/O errors are logged once per kind of error and
// retried at the next poll. One thread at a time (the log reader's).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/logs/positions.hpp"
#include "agent/logs/rate_limiter.hpp"
#include "proto/messages.hpp"

namespace corvid::agent::logs {

struct follow_limits {
    std::size_t max_message_bytes = 8192;
    std::uint32_t rate_limit_per_s = 200;
    std::size_t chunk_bytes = 64 * 1024;
    std::size_t bytes_per_poll = 1024 * 1024;
    std::int64_t partial_line_wait_ms = 5000;
    // A detached file (renamed away or deleted) is read until it has not grown for this long:
    // writers keep appending to a rotated file until they reopen their log (postrotate).
    std::int64_t detached_idle_ms = 5000;
};

// The first bytes of a file that identify its content, beside the inode number.
inline constexpr std::size_t head_bytes = 1024;

class file_follower {
public:
    // Follows the file `id` that was found at `path`, from `start` (its offset, and the
    // fingerprint and skip state when it comes from a snapshot). The file is opened at the first
    // poll; if the path then holds another inode this follower stays closed and file_set
    // notices the new inode at its next scan.
    file_follower(std::string path, const file_position& start, const follow_limits& limits);
    ~file_follower();
    file_follower(const file_follower&) = delete;
    file_follower& operator=(const file_follower&) = delete;

    // Appends entries to `out` until it holds `max_size` entries, the file has nothing more, or
    // this poll's byte budget is spent. True when it stopped for max_size with more to give.
    bool poll(std::int64_t now_ms, std::size_t max_size, std::vector<proto::log_entry>& out);
    // Gives the next poll a fresh byte budget (once per log_reader::read).
    void start_round() { budget_ = limits_.bytes_per_poll; }

    // The path no longer leads to this inode (rotated or deleted): read what is left, then close.
    void detach(std::int64_t now_ms);
    // The inode was found again, at `path` (renamed within the patterns, or back).
    void attach(const std::string& path);
    bool detached() const { return detached_since_ms_.has_value(); }
    std::int64_t detached_since_ms() const { return detached_since_ms_.value_or(0); }
    // Detached, drained and closed: file_set may forget it.
    bool finished() const { return finished_; }

    const file_identity& id() const { return id_; }
    const std::string& path() const { return path_; }
    file_position position() const;

private:
    enum class read_result { data, end, error };

    bool open_file();
    bool was_truncated();
    void restart_from_zero();
    read_result read_chunk(std::int64_t now_ms);
    void emit_line(std::string_view raw, std::int64_t now_ms, std::vector<proto::log_entry>& out);
    void emit_partial(std::int64_t now_ms, std::vector<proto::log_entry>& out);
    bool report_drops(std::int64_t now_ms, std::size_t max_size, std::vector<proto::log_entry>& out);
    void warn_once(const char* what, int error);
    std::size_t pending() const { return buffer_.size() - begin_; }

    std::string path_;
    std::string source_; // path_ as valid UTF-8: the entries' source
    file_identity id_;
    follow_limits limits_;
    rate_limiter limiter_;

    int fd_ = -1;
    std::optional<file_position> check_on_open_; // a snapshot's fingerprint, verified at open
    std::uint64_t read_offset_ = 0;               // the next byte to read; buffer_ ends there
    std::string buffer_;                          // read, not yet consumed: [begin_, size)
    std::size_t begin_ = 0;
    bool skipping_ = false;                       // discarding the rest of an over-long line
    std::string head_;                            // the file's first bytes, up to head_bytes
    std::optional<std::int64_t> partial_since_ms_;
    std::size_t budget_;

    std::optional<std::int64_t> detached_since_ms_;
    std::int64_t last_growth_ms_ = 0;
    bool finished_ = false;
    int warned_errno_ = 0; // the last error logged, so a persistent one is logged once
};

} // namespace corvid::agent::logs
