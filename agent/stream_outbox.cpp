#include "agent/stream_outbox.hpp"

#include <algorithm>

namespace corvid::agent {

stream_outbox::stream_outbox(std::size_t live_capacity, std::size_t max_in_flight)
    : live_capacity_(std::max<std::size_t>(1, live_capacity)), max_in_flight_(std::max<std::size_t>(1, max_in_flight))
{
}

void stream_outbox::restore(std::uint64_t acked, std::uint64_t last_seq)
{
    acked_ = acked;
    last_seq_ = std::max(acked, last_seq);
}

void stream_outbox::on_appended(spooled_record r)
{
    last_seq_ = std::max(last_seq_, r.seq);
    if (!connected_)
        return;
    live_.push_back(std::move(r));
    if (live_.size() > live_capacity_) {
        // The link is slower than the stream: the oldest live record becomes backlog. Live seqs
        // follow backlog_end_ without a hole, so the backlog simply grows by one.
        backlog_end_ = live_.front().seq;
        live_.pop_front();
    }
}

void stream_outbox::on_connected()
{
    on_disconnected();
    connected_ = true;
    next_backlog_ = acked_ + 1;
    backlog_end_ = last_seq_;
}

void stream_outbox::on_disconnected()
{
    connected_ = false;
    ++connection_;
    page_pending_ = false;
    page_.clear();
    live_.clear();
    in_flight_.clear();
}

std::optional<spooled_record> stream_outbox::next_live()
{
    if (!connected_ || live_.empty() || in_flight_.size() >= max_in_flight_)
        return std::nullopt;
    auto r = std::move(live_.front());
    live_.pop_front();
    in_flight_.push_back(r.seq);
    return r;
}

std::optional<spooled_record> stream_outbox::next_backlog()
{
    if (!connected_ || page_.empty() || in_flight_.size() >= max_in_flight_)
        return std::nullopt;
    auto r = std::move(page_.front());
    page_.pop_front();
    in_flight_.push_back(r.seq);
    return r;
}

std::optional<std::uint64_t> stream_outbox::page_request()
{
    if (!wants_page())
        return std::nullopt;
    page_pending_ = true;
    return next_backlog_ - 1;
}

void stream_outbox::on_page(std::uint64_t connection, std::vector<spooled_record> records)
{
    if (connection != connection_ || !connected_)
        return;
    page_pending_ = false;
    // A short page, or one reaching into the live seqs, means the spool holds nothing more of the
    // backlog (records it dropped by its bounds are simply absent and reported as a gap).
    bool exhausted = records.size() < page_records;
    for (auto& r : records) {
        if (r.seq > backlog_end_) {
            exhausted = true;
            break;
        }
        next_backlog_ = r.seq + 1;
        page_.push_back(std::move(r));
    }
    if (exhausted)
        next_backlog_ = backlog_end_ + 1;
}

std::uint64_t stream_outbox::lowest_unsettled() const
{
    std::uint64_t lowest = last_seq_ + 1;
    for (const auto seq : in_flight_)
        lowest = std::min(lowest, seq);
    if (!page_.empty())
        lowest = std::min(lowest, page_.front().seq);
    if (next_backlog_ <= backlog_end_)
        lowest = std::min(lowest, next_backlog_);
    if (!live_.empty())
        lowest = std::min(lowest, live_.front().seq);
    return lowest;
}

std::optional<std::uint64_t> stream_outbox::on_ack(std::uint64_t seq)
{
    const auto it = std::find(in_flight_.begin(), in_flight_.end(), seq);
    if (it == in_flight_.end())
        return std::nullopt; // not sent on this connection (a stale or bogus ack): ignored
    in_flight_.erase(in_flight_.begin(), it + 1);
    const std::uint64_t settled = lowest_unsettled() - 1;
    if (settled <= acked_)
        return std::nullopt;
    acked_ = settled;
    return acked_;
}

} // namespace corvid::agent
