#pragma once
// Ships log lines: every quarter second a job on the logs spool's thread reads what is new from
// the log sources (log_reader), and when a batch is due — 500 entries, a frame's worth of bytes,
// or one second after its first entry — writes it to the logs spool as one `log` frame, together
// with where each source stood after it; as many batches per poll as the sources fill (bounded). The uplink sends it from there (PROTOCOL.md 11).
//
// Exactly once across restarts: a batch and the positions after it are written in one spool
// record, and the positions file (<state_dir>/log-positions) names the seq it belongs to. At start
// the newer of the two is used, so a crash between writing the record and the file neither skips
// nor repeats lines. Without either (first start) every source begins at its end.
//
// io thread; the reader and the pending batch are touched only by jobs on the spool's thread.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <vector>

#include "agent/logs/log_reader.hpp"
#include "agent/logs/logs_config.hpp"
#include "agent/spooled_stream.hpp"

namespace corvid::agent {

class log_shipping {
public:
    static constexpr std::size_t max_batch_entries = 500;
    static constexpr std::size_t max_batch_bytes = 900 * 1024; // under the 1 MiB frame, with room for escaping
    static constexpr std::chrono::milliseconds poll_interval{250}, max_batch_delay{1000};
    // Up to 64 000 lines/s from one agent; the send pace (45 messages/s) allows 22 500.
    static constexpr std::size_t max_batches_per_poll = 32;

    log_shipping(net::any_io_executor ex, spooled_stream& logs, const logs_config& cfg, std::string positions_path);
    ~log_shipping();

    // Restores the reader's positions (see above), then polls until stop().
    net::awaitable<void> run();
    void stop();

private:
    struct state; // on the spool's thread
    struct poll_result {
        std::vector<spooled_record> records;
        std::vector<spool_gap> gaps;
    };
    static void restore(state& st, spool& s);
    static void read_pending(state& st, std::int64_t now);
    static poll_result poll(state& st, spool& s, bool flush_now);

    spooled_stream& logs_;
    std::unique_ptr<state> state_;
    net::steady_timer timer_;
    bool stopping_ = false;
};

} // namespace corvid::agent
