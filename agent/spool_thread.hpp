#pragma once
// One spool and the thread that owns it. The spool does blocking file I/O (fdatasync takes
// milliseconds), so it never runs on the io thread: every use is a job on this thread, awaited by
// the io thread. Jobs run one at a time, in the order they were submitted.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>
#include <optional>
#include <type_traits>

#include "agent/spool.hpp"
#include "common/on_thread.hpp"

namespace corvid::agent {

namespace net = boost::asio;

class spool_thread {
public:
    explicit spool_thread(spool s);
    ~spool_thread(); // waits for the job running now, drops the rest
    spool_thread(const spool_thread&) = delete;
    spool_thread& operator=(const spool_thread&) = delete;

    // Runs job(spool&) on the spool's thread; resumes the caller with its result on the caller's executor.
    template <class Job> net::awaitable<std::invoke_result_t<Job, spool&>> run(Job job)
    {
        auto on_thread = [this, job = std::move(job)]() mutable { return job(spool_); };
        auto done = co_await run_on(pool_, std::move(on_thread));
        co_return done;
    }

    // Moves the ack point (posted, not awaited). Requests that pile up while the disk is slow are
    // coalesced: only the newest seq is written.
    void acknowledge(std::uint64_t seq);

private:
    void write_ack();

    spool spool_;
    net::thread_pool pool_{1};
    std::mutex mutex_;                   // guards pending_ack_ (io thread writes, spool thread reads)
    std::optional<std::uint64_t> pending_ack_;
};

} // namespace corvid::agent
