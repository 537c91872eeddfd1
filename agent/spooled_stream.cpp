#include "agent/spooled_stream.hpp"

#include "common/log.hpp"
#include "common/time_format.hpp"

namespace corvid::agent {

namespace {
stream_outbox restored_outbox(const spool& s, std::size_t live_capacity)
{
    stream_outbox o(live_capacity);
    o.restore(s.acked_seq(), s.last_seq());
    return o;
}
} // namespace

spooled_stream::spooled_stream(std::string name, spool s, frame_builder build, std::size_t live_capacity)
    : name_(std::move(name)), outbox_(restored_outbox(s, live_capacity)), thread_(std::move(s)), build_(std::move(build))
{
}

void spooled_stream::set_listeners(std::function<void()> on_ready, std::function<void(proto::gap)> on_gap)
{
    on_ready_ = std::move(on_ready);
    on_gap_ = std::move(on_gap);
}

proto::gap to_gap_message(std::string_view stream, const spool_gap& g)
{
    proto::gap m;
    m.stream = std::string(stream);
    m.first_seq = g.first_seq;
    m.last_seq = g.last_seq;
    m.count = g.count;
    // Timestamps are unknown (0) for a gap found at start-up, whose first report was lost.
    if (g.first_timestamp_ms != 0)
        m.from_ms = g.first_timestamp_ms;
    if (g.last_timestamp_ms != 0)
        m.to_ms = g.last_timestamp_ms;
    m.reason = g.first_timestamp_ms != 0 ? "spool_limit" : "unknown";
    return m;
}

net::awaitable<bool> spooled_stream::append(std::int64_t timestamp_ms, std::string payload)
{
    struct outcome {
        boost::system::result<std::uint64_t> seq;
        std::vector<spool_gap> gaps;
        std::string payload;
    };
    auto job = [timestamp_ms, payload = std::move(payload)](spool& s) mutable {
        auto seq = s.append(timestamp_ms, payload, now_unix_ms());
        return outcome{seq, s.take_gaps(), std::move(payload)};
    };
    auto started = thread_.run(std::move(job)); // named: see spool_thread::run
    auto done = co_await std::move(started);
    std::vector<spooled_record> records;
    if (done.seq) {
        records.push_back({*done.seq, timestamp_ms, std::move(done.payload)});
    } else if (write_failures_++ % 60 == 0) {
        log::error("cannot write to the {} spool: {}; {} records lost so far", name_, done.seq.error().message(),
                   write_failures_);
    }
    appended(std::move(records), std::move(done.gaps));
    co_return done.seq.has_value();
}

void spooled_stream::appended(std::vector<spooled_record> records, std::vector<spool_gap> gaps)
{
    // The spool has logged each drop.
    for (const auto& g : gaps)
        if (on_gap_)
            on_gap_(to_gap_message(name_, g));
    for (auto& r : records)
        outbox_.on_appended(std::move(r));
    if (!records.empty() && on_ready_)
        on_ready_();
}

net::awaitable<void> spooled_stream::load_page()
{
    const auto after = outbox_.page_request();
    if (!after)
        co_return;
    const auto connection = outbox_.connection();
    auto job = [after = *after](spool& s) { return s.unacked(after, stream_outbox::page_records); };
    auto started = thread_.run(std::move(job));
    auto page = co_await std::move(started);
    if (!page) {
        // The request stays pending: the backlog stalls (and nothing after it is acked) until the
        // next connection tries again.
        log::error("cannot read the {} spool: {}; replay resumes after reconnecting", name_, page.error().message());
        co_return;
    }
    std::vector<spooled_record> records;
    records.reserve(page->size());
    for (auto& r : *page)
        records.push_back({r.seq, r.timestamp_ms, std::move(r.payload)});
    outbox_.on_page(connection, std::move(records));
    if (on_ready_)
        on_ready_();
}

void spooled_stream::on_ack(std::uint64_t seq)
{
    if (const auto point = outbox_.on_ack(seq))
        thread_.acknowledge(*point);
}

} // namespace corvid::agent
