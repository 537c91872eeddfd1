#pragma once
// The agent's log sources as one reader: the files of [[logs.files]] (file_set) and the journal
// ([logs.journal], journal_reader), turned into proto::log_entry values, with the positions that
// let a restarted agent go on where it stopped. The design, and what is lost when, is in
// agent/logs/README.md.
// Blocking I/O, no exceptions (I/O errors are logged once and retried at the next read), no
// threads of its own: used by one thread at a time (the agent's log worker).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/logs/file_set.hpp"
#include "agent/logs/journal_reader.hpp"
#include "agent/logs/logs_config.hpp"
#include "proto/messages.hpp"

namespace corvid::agent::logs {

// Entries one source may add before the next source gets its turn within a read().
inline constexpr std::size_t entries_per_turn = 64;

class log_reader {
public:
    explicit log_reader(const logs_config& cfg);
    // Movable (it owns descriptors and the journal handle), not copyable.
    log_reader(log_reader&&) noexcept = default;
    log_reader& operator=(log_reader&&) noexcept = default;
    log_reader(const log_reader&) = delete;
    log_reader& operator=(const log_reader&) = delete;

    // Continue from a positions_snapshot() text. One that cannot be used (damaged, another
    // version) is logged and the reader starts at the end instead.
    void restore(std::string_view snapshot);
    // First start: only what is written from now on. read() does this itself if neither was called.
    void start_at_end();

    // Everything new since the last call, oldest first per source, at most max_entries. Sources
    // take turns (entries_per_turn each) so a flood in one does not starve another; the patterns
    // are expanded again at most every rescan_interval_ms. now_ms is the wall clock: the
    // timestamp of file lines and the clock of rate limits and waits.
    std::vector<proto::log_entry> read(std::int64_t now_ms, std::size_t max_entries);

    // Where every source stands after the entries read() has returned so far (positions.hpp).
    std::string positions_snapshot() const;

private:
    logs_config cfg_;
    file_set files_;
    std::unique_ptr<journal_reader> journal_; // null when [logs.journal] is off
    std::size_t first_turn_ = 0;               // which source goes first: rotates per read()
    bool started_ = false;
};

} // namespace corvid::agent::logs
