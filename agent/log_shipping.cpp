#include "agent/log_shipping.hpp"

#include <charconv>

#include "agent/spooled_frames.hpp"
#include "common/deadline.hpp"
#include "common/file_util.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"
#include "common/time_format.hpp"
#include "proto/codec.hpp"

namespace corvid::agent {

struct log_shipping::state {
    state(const logs_config& cfg, std::string path, std::size_t worst)
        : reader(cfg), positions_path(std::move(path)), worst_entry_bytes(worst)
    {
    }
    logs::log_reader reader;
    std::string positions_path;
    std::size_t worst_entry_bytes; // an entry's largest possible JSON: every byte escaped as \u00XX
    std::vector<proto::log_entry> pending;
    std::size_t pending_bytes = 0;
    std::int64_t first_pending_ms = 0;
};

namespace {

// The positions file: the seq of the batch they follow, a newline, the reader's snapshot.
struct saved_positions {
    std::uint64_t seq = 0;
    std::string snapshot;
};

std::optional<saved_positions> read_positions(const std::string& path)
{
    auto text = read_file(path);
    if (!text) {
        if (text.error() != boost::system::errc::no_such_file_or_directory)
            log::warn("cannot read {}: {}", path, text.error().message());
        return std::nullopt;
    }
    const auto nl = text->find('\n');
    saved_positions p;
    if (nl == std::string::npos || std::from_chars(text->data(), text->data() + nl, p.seq).ec != std::errc()) {
        log::warn("{} is damaged; log sources start at their end", path);
        return std::nullopt;
    }
    p.snapshot = text->substr(nl + 1);
    return p;
}

constexpr std::size_t max_source_bytes = 1024; // an identifier on the wire (PROTOCOL.md 8)

std::size_t entry_json_bytes(const proto::log_entry& e)
{
    // Exact for message and source (the bulk); a generous constant for the rest.
    return json_string(e.message).size() + json_string(e.source).size() + 96;
}

} // namespace

log_shipping::log_shipping(net::any_io_executor ex, spooled_stream& logs, const logs_config& cfg,
                           std::string positions_path)
    : logs_(logs),
      state_(std::make_unique<state>(cfg, std::move(positions_path), 6 * (cfg.max_message_bytes + max_source_bytes) + 128)),
      timer_(ex)
{
}

log_shipping::~log_shipping() = default;

void log_shipping::stop()
{
    stopping_ = true;
    timer_.cancel();
}

void log_shipping::restore(state& st, spool& s)
{
    auto saved = read_positions(st.positions_path);
    // A batch written after the file (a crash in between) carries newer positions.
    const std::uint64_t file_seq = saved ? saved->seq : 0;
    if (s.last_seq() > file_seq && s.last_seq() > s.acked_seq()) {
        auto last = s.unacked(s.last_seq() - 1, 1);
        if (last && !last->empty())
            saved = saved_positions{last->front().seq, std::string(log_payload_positions(last->front().payload))};
    }
    if (saved) {
        log::info("log sources resume after batch {}", saved->seq);
        st.reader.restore(saved->snapshot);
    } else {
        log::info("no saved log positions: log sources start at their end");
        st.reader.start_at_end();
    }
}

// Reads into the pending batch in steps that cannot overflow it, however the next entries escape.
void log_shipping::read_pending(state& st, std::int64_t now)
{
    while (st.pending.size() < max_batch_entries && st.pending_bytes + st.worst_entry_bytes <= max_batch_bytes) {
        const std::size_t room = std::min(max_batch_entries - st.pending.size(),
                                          (max_batch_bytes - st.pending_bytes) / st.worst_entry_bytes);
        auto got = st.reader.read(now, room);
        if (got.empty())
            return;
        if (st.pending.empty())
            st.first_pending_ms = now;
        for (auto& e : got) {
            st.pending_bytes += entry_json_bytes(e);
            st.pending.push_back(std::move(e));
        }
    }
}

log_shipping::poll_result log_shipping::poll(state& st, spool& s, bool flush_now)
{
    const std::int64_t now = now_unix_ms();
    poll_result out;
    std::string snapshot; // the positions after the last batch written in this poll
    // Several batches per poll while the sources have more, so a busy host is not held to one
    // batch per poll interval. A batch is cut only when everything read so far is in it: its
    // positions then cover exactly what is spooled.
    for (std::size_t n = 0; n < max_batches_per_poll; ++n) {
        read_pending(st, now);
        if (st.pending.empty())
            break;
        const bool full =
            st.pending.size() >= max_batch_entries || st.pending_bytes + st.worst_entry_bytes > max_batch_bytes;
        if (!full && !flush_now && now - st.first_pending_ms < max_batch_delay.count())
            break;
        proto::log_batch batch;
        batch.seq = s.last_seq() + 1; // the seq append gives this record
        batch.entries = std::move(st.pending);
        std::string positions = st.reader.positions_snapshot();
        std::string payload = log_payload(positions, proto::encode(batch));
        st.pending.clear();
        st.pending_bytes = 0;
        auto seq = s.append(now, payload, now);
        if (!seq) {
            log::error("cannot write {} log lines to the spool: {}; they are lost", batch.entries.size(),
                       seq.error().message());
            break;
        }
        snapshot = std::move(positions);
        out.records.push_back({*seq, now, std::move(payload)});
        if (!full)
            break; // cut because it was due: the sources had nothing more
    }
    out.gaps = s.take_gaps();
    // Once per poll: the spool's last record holds the same positions until it is acked.
    if (!out.records.empty()) {
        if (auto ec = write_file_atomic(st.positions_path, fmt::format("{}\n{}", out.records.back().seq, snapshot), 0600))
            log::warn("cannot save log positions to {}: {}", st.positions_path, ec.message());
    }
    return out;
}

net::awaitable<void> log_shipping::run()
{
    state* st = state_.get();
    auto restoring = logs_.run([st](spool& s) {
        restore(*st, s);
        return true;
    }); // jobs are named before co_await: see spool_thread::run
    co_await std::move(restoring);
    while (!stopping_) {
        timer_.expires_after(poll_interval);
        co_await timer_.async_wait(use_tuple);
        const bool flush_now = stopping_;
        auto polling = logs_.run([st, flush_now](spool& s) { return poll(*st, s, flush_now); });
        auto done = co_await std::move(polling);
        logs_.appended(std::move(done.records), std::move(done.gaps));
    }
}

} // namespace corvid::agent
