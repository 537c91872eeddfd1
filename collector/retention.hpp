#pragma once
// Background deletion of old data, on the writer thread in small slices so ingest is never held
// up for long (each slice is its own transaction; queued samples and logs commit in between):
// - retention_loop: raw samples, finished commands and gaps older than config.retention_days,
//   once at start and then hourly, 10,000 rows per slice;
// - log_retention_loop: log entries older than config.log_retention_days, then the oldest while
//   their estimated size exceeds config.log_max_mb, at start and then every minute, 5,000 rows per
//   slice (a log entry's delete also updates the full-text index, so slices are smaller).
// io thread only; each ends when its timer is cancelled or the io_context stops.
#include <boost/asio/awaitable.hpp>

#include "collector/app.hpp"

namespace corvid::collector {

net::awaitable<void> retention_loop(app& a);
net::awaitable<void> log_retention_loop(app& a);

} // namespace corvid::collector
