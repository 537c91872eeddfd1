#pragma once
// One durable stream of the agent (metrics or logs): its spool, on a thread of its own, and what
// the uplink sends of it (stream_outbox). Producers append through run(); the uplink takes records
// from outbox(), asks for backlog pages with load_page() and passes acks to on_ack().
// io thread only, except the jobs given to run(), which run on the spool's thread.
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>
#include <vector>

#include "agent/spool_thread.hpp"
#include "agent/stream_outbox.hpp"
#include "proto/messages.hpp"

namespace corvid::agent {

class spooled_stream {
public:
    // Turns a spooled record into the frame sent to the collector (server_id from auth_success).
    using frame_builder = std::function<std::string(const spooled_record&, const std::string& server_id)>;

    spooled_stream(std::string name, spool s, frame_builder build, std::size_t live_capacity);

    const std::string& name() const { return name_; }
    stream_outbox& outbox() { return outbox_; }
    std::string frame(const spooled_record& r, const std::string& server_id) const { return build_(r, server_id); }

    // Called when a record was appended or a page loaded (the uplink has something to send), and
    // for each gap the spool reports.
    void set_listeners(std::function<void()> on_ready, std::function<void(proto::gap)> on_gap);

    // Appends one record on the spool's thread and hands it to the outbox. false: the spool could
    // not write it (logged; the record is lost and counted).
    net::awaitable<bool> append(std::int64_t timestamp_ms, std::string payload);

    // Runs job(spool&) on the spool's thread (producers that append themselves, like the log reader).
    template <class Job> net::awaitable<std::invoke_result_t<Job, spool&>> run(Job job)
    {
        auto started = thread_.run(std::move(job));
        auto r = co_await std::move(started);
        co_return r;
    }
    // After a job appended: records for the outbox, then the spool's gaps.
    void appended(std::vector<spooled_record> records, std::vector<spool_gap> gaps);

    // Reads the next backlog page if the outbox wants one (at most one read at a time).
    net::awaitable<void> load_page();
    void on_ack(std::uint64_t seq);

private:
    std::string name_;
    stream_outbox outbox_; // before thread_: it is restored from the spool before the spool moves there
    spool_thread thread_;
    frame_builder build_;
    std::function<void()> on_ready_;
    std::function<void(proto::gap)> on_gap_;
    std::uint64_t write_failures_ = 0;
};

// The wire's gap message for a gap of `stream`.
proto::gap to_gap_message(std::string_view stream, const spool_gap& g);

} // namespace corvid::agent
