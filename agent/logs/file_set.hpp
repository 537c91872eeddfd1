#pragma once
// The files the [[logs.files]] patterns match, each followed by inode (file_follower). Every scan
// expands the patterns with glob(3) and stat(2)s each match (symlinks are followed, wherever they
// point); an inode seen for the first time gets a follower, one that is no longer at any matched
// path is detached (rotated away or deleted) and drained. Where a new follower starts:
//  - at the first start, at the end of each file (only lines written from now on);
//  - after restore(), where the snapshot left its inode; an inode the snapshot does not know from
//    the start when a pattern of the snapshot matches it (it appeared while the agent was down),
//    else at the end (its pattern was added to the config since);
//  - for a file that appears later (a new match, or a new file after a rotation), at its start.
// While a rotated-away file is drained, the new file at its path waits (at most
// rotation_order_wait_ms), so the lines of one path keep their order.
// At most max_files inodes are followed; more matches are ignored with one warning.
// Blocking I/O; one thread at a time (the log reader's).
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/logs/file_follower.hpp"
#include "agent/logs/positions.hpp"

namespace corvid::agent::logs {

inline constexpr std::int64_t rescan_interval_ms = 2000;
inline constexpr std::int64_t rotation_order_wait_ms = 30000;
inline constexpr std::size_t max_followed_files = 256;

class file_set {
public:
    file_set(std::vector<std::string> patterns, const follow_limits& limits, std::size_t max_files = max_followed_files);

    void start_at_end();
    void restore(const positions& saved);

    // Rescans when rescan_interval_ms has passed (or never scanned), forgets finished followers,
    // gives each follower its byte budget, and returns those that may read now.
    std::vector<file_follower*> start_round(std::int64_t now_ms);

    std::vector<file_position> positions_now() const;
    const std::vector<std::string>& patterns() const { return patterns_; }
    std::size_t size() const { return followers_.size(); }

private:
    enum class start_rule { at_end, from_start, from_snapshot };
    struct match {
        std::string path;
        std::size_t pattern; // index into patterns_
    };

    std::vector<match> expand_patterns();
    void scan(std::int64_t now_ms, start_rule rule, const positions* saved);
    file_follower* find(const file_identity& id);
    bool waits_for_older(const file_follower& f, std::int64_t now_ms) const;

    std::vector<std::string> patterns_;
    follow_limits limits_;
    std::size_t max_files_;
    std::vector<std::unique_ptr<file_follower>> followers_; // oldest first
    std::optional<std::int64_t> last_scan_ms_;
    std::set<std::size_t> glob_warned_; // patterns whose glob error was logged
    bool full_warned_ = false;
};

} // namespace corvid::agent::logs
