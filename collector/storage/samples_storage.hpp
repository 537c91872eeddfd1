#pragma once
// Storage of metric samples: inserted in batches, read by time range, deleted by age. Part of
// the storage interface (storage.hpp; its threading rule holds).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "collector/storage/storage_error.hpp"

namespace corvid::collector {

// One sample as stored: headline numbers as columns (for queries and rollups), the whole
// sample_data as its JSON encoding (proto::encode_sample_data) in `data_json`.
struct sample_row {
    std::string server_id;
    std::int64_t timestamp_ms = 0;
    std::optional<double> cpu_percent, memory_percent, load1;
    std::string data_json;
};

class samples_storage {
public:
    virtual ~samples_storage() = default;

    // All rows in one transaction. Element i of the result is true when row i was new and false
    // when a row with the same (server_id, timestamp_ms) was already stored (it is left as it was).
    virtual storage_result<std::vector<bool>> insert_samples(std::span<const sample_row> rows) = 0;
    // Oldest first, from_ms <= timestamp_ms <= to_ms, at most `limit` rows, and no more rows once
    // their data_json adds up to max_bytes or more (so a caller that gets `limit` rows, or
    // max_bytes or more, knows the answer may be cut short).
    virtual storage_result<std::vector<sample_row>> samples_between(std::string_view server_id, std::int64_t from_ms,
                                                                    std::int64_t to_ms, std::size_t limit,
                                                                    std::size_t max_bytes = SIZE_MAX) = 0;
    virtual storage_result<std::optional<sample_row>> latest_sample(std::string_view server_id) = 0;
    // Retention: deletes at most max_rows samples older than cutoff_ms; returns how many it deleted.
    virtual storage_result<std::size_t> delete_samples_before(std::int64_t cutoff_ms, std::size_t max_rows) = 0;
};

} // namespace corvid::collector
