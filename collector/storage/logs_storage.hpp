#pragma once
// Storage of agents' log lines (PROTOCOL.md section 11): stored exactly once per batch, queried
// newest first with filters, search and a cursor, trimmed by age and by size. Part of the storage
// interface (storage.hpp; its threading rule holds).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "collector/storage/storage_error.hpp"

namespace corvid::collector {

// One stored log line (PROTOCOL.md section 11). Levels are numbers in proto::log_level's order:
// 0 DEBUG, 1 INFO, 2 NOTICE, 3 WARN, 4 ERROR, 5 CRIT.
struct log_record {
    std::int64_t id = 0; // assigned on insert; increases in commit order and is never reused
    std::int64_t timestamp_ms = 0;
    int level = 1;
    std::string source;
    std::string message;
    bool truncated = false;
    bool operator==(const log_record&) const = default;
};

// Which entries query_logs returns. Absent fields do not restrict. `search` is a log_search
// text (log_search.hpp): a substring, or a query of terms with AND, OR, NOT and parentheses.
struct log_filter {
    std::optional<std::int64_t> from_ms, to_ms; // inclusive
    int min_level = 0;
    std::optional<std::string> search;
    std::optional<std::string> source; // exact
    std::optional<std::int64_t> max_id; // only entries with id <= max_id (a logs socket's history)
};

// Where the next page of query_logs starts: after (timestamp_ms, id) in newest-first order.
struct log_cursor {
    std::int64_t timestamp_ms = 0;
    std::int64_t id = 0;
    bool operator==(const log_cursor&) const = default;
};

struct log_page {
    std::vector<log_record> entries;  // newest first
    std::optional<log_cursor> next;   // set when there are more matching entries
};

// What insert_log_batch did: `fresh` false means the batch (server_id, seq) was stored before and
// nothing was written; otherwise `ids` are the new rows' ids, in entry order.
struct log_insert {
    bool fresh = false;
    std::vector<std::int64_t> ids;
};

class logs_storage {
public:
    virtual ~logs_storage() = default;

    // Stores one agent batch in one transaction, exactly once per (server_id, seq): a batch sent
    // again (after a lost ack) writes nothing and reports fresh = false.
    virtual storage_result<log_insert> insert_log_batch(std::string_view server_id, std::uint64_t seq,
                                                        std::span<const log_record> entries) = 0;
    // Newest first (timestamp, then id), at most `limit` entries, starting after `after` when given.
    // A search that SQLite's full-text index cannot serve is answered by scanning; never an error.
    virtual storage_result<log_page> query_logs(std::string_view server_id, const log_filter& filter,
                                                const std::optional<log_cursor>& after, std::size_t limit) = 0;
    // Retention by age: deletes at most max_rows entries older than cutoff_ms, oldest first.
    virtual storage_result<std::size_t> delete_logs_before(std::int64_t cutoff_ms, std::size_t max_rows) = 0;
    // Retention by size: while log_bytes() > max_bytes, deletes the oldest entries, at most
    // max_rows in this call. Returns how many it deleted (0: within the budget).
    virtual storage_result<std::size_t> trim_logs_to(std::uint64_t max_bytes, std::size_t max_rows) = 0;
    // The estimated on-disk size of all stored log entries, their indexes included (see schema v3).
    virtual storage_result<std::uint64_t> log_bytes() = 0;
};

} // namespace corvid::collector
