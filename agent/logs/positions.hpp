#pragma once
// Where each log source stands: the text log_reader::positions_snapshot() returns and restore()
// takes back, so the agent continues after a restart without losing or repeating lines. JSON:
//   {"version":1,
//    "patterns":["/var/log/nginx/*.log"],
//    "files":[{"path":"/var/log/nginx/error.log","dev":2049,"ino":1234,"offset":5678,
//              "head_len":1024,"head_crc":305419896,"skip":false}],
//    "journal":{"cursor":"s=…"}}            (or "journal":null when there is no cursor yet)
// A file is known by (dev, ino); its path is informational. head_len/head_crc fingerprint the
// file's first bytes (CRC-32C), so an inode number reused by a new file is noticed. "skip": the
// reader was discarding the rest of an over-long line whose start it had shipped. Pure; any thread.
#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corvid::agent::logs {

struct file_identity {
    std::uint64_t dev = 0, ino = 0;
    bool operator==(const file_identity&) const = default;
    auto operator<=>(const file_identity&) const = default;
};

struct file_position {
    std::string path;
    file_identity id;
    std::uint64_t offset = 0; // the first byte not yet shipped (nor dropped)
    bool skipping = false;
    std::uint32_t head_len = 0, head_crc = 0;
    bool operator==(const file_position&) const = default;
};

struct positions {
    std::vector<std::string> patterns; // the [[logs.files]] paths when the snapshot was taken
    std::vector<file_position> files;
    std::optional<std::string> journal_cursor;
    bool operator==(const positions&) const = default;
};

// Bounds on what a snapshot may hold, so a damaged file cannot make the reader allocate much.
inline constexpr std::size_t max_snapshot_bytes = 4 << 20;
inline constexpr std::size_t max_snapshot_files = 8192;
inline constexpr std::size_t max_snapshot_text_bytes = 4096; // one path, pattern or cursor

std::string encode_positions(const positions& p);
// The problem in words ("files[2].offset: expected unsigned integer") when `text` is not a snapshot.
boost::system::result<positions, std::string> decode_positions(std::string_view text);

} // namespace corvid::agent::logs
