#pragma once
// What the uplink sends of one spooled stream (metrics or logs), and what the collector has
// committed of it. Every record is in the on-disk spool before it gets here; this class only
// decides the order of sending and the spool's ack point. Pure: no I/O, io thread only.
//
// Order (PROTOCOL.md 3.5): on a connection, records appended since it opened go out first, as they
// come (live); the backlog — everything unacknowledged when it opened — follows, oldest first, in
// pages read from the spool, at the pace the uplink allows.
//
// Acks: the collector commits messages in the order they arrive and acks each one after commit,
// so an ack of seq N means N and everything sent before N on this connection are committed (in
// send order, not seq order: live records overtake the backlog). The spool's ack point is the
// highest seq below which nothing is still to send or in flight.
//
// Bounds: `live_capacity` records wait in memory for a slow link; when more arrive the oldest is
// forgotten here and sent later as backlog (it is still in the spool). At most `max_in_flight`
// records are sent but unacknowledged; then sending waits for acks.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace corvid::agent {

struct spooled_record {
    std::uint64_t seq = 0;
    std::int64_t timestamp_ms = 0;
    std::string payload;
};

class stream_outbox {
public:
    static constexpr std::size_t page_records = 64;

    explicit stream_outbox(std::size_t live_capacity = 32, std::size_t max_in_flight = 256);

    // The spool as opened: everything <= acked is done, everything up to last_seq is stored.
    void restore(std::uint64_t acked, std::uint64_t last_seq);
    // A record is in the spool: sent live when connected, else left for the next backlog.
    void on_appended(spooled_record r);

    void on_connected();    // the backlog is everything unacknowledged so far
    void on_disconnected(); // in-flight records stay unacknowledged and are resent as backlog

    // The next live record to send, if any (and the in-flight window has room); marks it sent.
    std::optional<spooled_record> next_live();
    // The next backlog record from the loaded page, if any; marks it sent.
    std::optional<spooled_record> next_backlog();

    // When the backlog needs its next page from the spool: the seq to read after (records with a
    // greater seq, oldest first). Nothing while a read is pending. Then on_page with the result,
    // tagged with the connection the request was made on (stale pages are ignored).
    std::optional<std::uint64_t> page_request();
    void on_page(std::uint64_t connection, std::vector<spooled_record> records);
    std::uint64_t connection() const { return connection_; }

    // An ack of `seq` from the collector. Returns the new spool ack point when it moved.
    std::optional<std::uint64_t> on_ack(std::uint64_t seq);

    // The backlog needs its next page and no read is pending (page_request() would give one).
    bool wants_page() const { return connected_ && !page_pending_ && page_.empty() && next_backlog_ <= backlog_end_; }
    // A loaded page has records waiting to be sent.
    bool has_page() const { return connected_ && !page_.empty(); }
    bool backlog_remaining() const { return connected_ && (next_backlog_ <= backlog_end_ || !page_.empty()); }
    std::uint64_t acked() const { return acked_; }
    std::uint64_t last_seq() const { return last_seq_; }
    std::size_t in_flight() const { return in_flight_.size(); }

private:
    std::uint64_t lowest_unsettled() const;

    std::size_t live_capacity_, max_in_flight_;
    std::uint64_t acked_ = 0, last_seq_ = 0;
    bool connected_ = false;
    std::uint64_t connection_ = 0;
    // Backlog of this connection: seqs [next_backlog_, backlog_end_] not yet read from the spool,
    // then page_ (read, not yet sent). live_ holds the seqs right after backlog_end_, in order.
    std::uint64_t next_backlog_ = 1, backlog_end_ = 0;
    bool page_pending_ = false;
    std::deque<spooled_record> page_;
    std::deque<spooled_record> live_;
    std::deque<std::uint64_t> in_flight_; // in send order
};

} // namespace corvid::agent
