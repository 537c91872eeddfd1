#pragma once
// Storage of gaps: records an agent's spool dropped before the collector had them. Part of the
// storage interface (storage.hpp; its threading rule holds).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/storage/storage_error.hpp"

namespace corvid::collector {

// Records an agent's spool dropped before the collector had them (PROTOCOL.md section 11.2).
struct gap_record {
    std::string server_id;
    std::string stream; // "metrics" or "logs"
    std::uint64_t first_seq = 0, last_seq = 0, count = 0;
    std::optional<std::int64_t> from_ms, to_ms;
    std::string reason;
    std::int64_t reported_at_ms = 0; // when the collector first heard of it
    bool operator==(const gap_record&) const = default;
};

class gaps_storage {
public:
    virtual ~gaps_storage() = default;

    // Stores a gap once per (server_id, stream, first_seq); a gap reported again raises last_seq,
    // count and the times where the new report says more, and keeps reported_at.
    virtual storage_result<void> insert_gap(const gap_record& g) = 0;
    // Most recently reported first.
    virtual storage_result<std::vector<gap_record>> list_gaps(std::string_view server_id, std::size_t limit) = 0;
    // Retention: deletes at most max_rows gaps reported before cutoff_ms.
    virtual storage_result<std::size_t> delete_gaps_before(std::int64_t cutoff_ms, std::size_t max_rows) = 0;
};

} // namespace corvid::collector
