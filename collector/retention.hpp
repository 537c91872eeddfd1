#pragma once
// Deletes raw samples older than config.retention_days, once at start and then hourly, in slices
// of 10,000 rows on the writer thread so ingest is never held up for long.
// io thread only; ends when its timer is cancelled or the io_context stops.
#include <boost/asio/awaitable.hpp>

#include "collector/app.hpp"

namespace corvid::collector {

net::awaitable<void> retention_loop(app& a);

} // namespace corvid::collector
