#pragma once
// The io thread's door to storage. Blocking storage calls run on other threads and are awaited:
// - one writer thread owns the write connection; samples submitted from the io thread are
//   group-committed (everything queued when the writer wakes goes into one transaction);
// - a small pool of reader threads, each call borrowing one of the pool's read connections.
// - log batches go through the same queue, in order with samples, each in its own transaction.
// Bound: at most `limits.max_items` samples (a log batch counts as many as it has entries) and
// `limits.max_bytes` bytes of sample JSON and log text wait for the writer, whichever is reached
// first: counting bytes keeps a few agents with huge frames from queueing gigabytes. When the
// queue is full, wait_for_write_space() suspends the caller, so an agent session stops reading its
// socket and TCP flow control pushes back on the agent: samples and logs are delayed, never
// dropped silently. (One submission may take the queue past its bound by at most one frame.)
// Waiting costs nothing while the queue stays full: waiters sleep on a timer that never expires
// and are woken only when a commit frees space (issue 12.11: they used to wake each other).
// Threading: every member function is called on the io thread; completions run there too.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <variant>
#include <vector>

#include "collector/storage/storage.hpp"
#include "common/on_thread.hpp"

namespace corvid::collector {

namespace net = boost::asio;

class store {
public:
    using opener = std::function<boost::system::result<std::unique_ptr<storage>>()>;

    struct queue_limits {
        std::size_t max_items = 10000;
        std::size_t max_bytes = 64 * 1024 * 1024;
    };
    // `writer` is the already opened (and migrated) write connection; `open_reader` opens more.
    store(net::any_io_executor io, std::unique_ptr<storage> writer, opener open_reader, queue_limits limits,
          std::size_t reader_threads = 2);
    ~store();

    // Queues one sample for group commit. `done(inserted)` runs on the io thread once the sample is
    // committed (true: new, false: already stored) or failed (error).
    void submit_sample(sample_row row, std::function<void(storage_result<bool>)> done);
    // Queues one log batch (storage::insert_log_batch); `done` runs on the io thread once it is
    // committed (fresh or known before) or failed.
    void submit_logs(std::string server_id, std::uint64_t seq, std::vector<log_record> entries,
                     std::function<void(storage_result<log_insert>)> done);
    bool write_queue_full() const
    {
        return queued_.items >= limits_.max_items || queued_.bytes >= limits_.max_bytes;
    }
    // Suspends while the write queue is full. Cancellation (the caller's session ending) ends the
    // wait at once.
    net::awaitable<void> wait_for_write_space();

    // Runs f(storage&) on a reader thread; f returns a storage_result<T>.
    template <class F> auto read(F f) -> net::awaitable<std::invoke_result_t<F, storage&>>;
    // Runs f(storage&) on the writer thread, in order with sample commits.
    template <class F> auto write(F f) -> net::awaitable<std::invoke_result_t<F, storage&>>;

    // Commits what is queued and stops the threads. Blocking: call once, at shutdown.
    void stop();
    std::size_t queued_items() const { return queued_.items; }
    std::size_t queued_bytes() const { return queued_.bytes; }

private:
    struct queue_weight {
        std::size_t items = 0, bytes = 0;
    };
    struct pending_sample {
        sample_row row;
        std::function<void(storage_result<bool>)> done;
    };
    struct pending_logs {
        std::string server_id;
        std::uint64_t seq = 0;
        std::vector<log_record> entries;
        queue_weight weight;
        std::function<void(storage_result<log_insert>)> done;
    };
    using pending_write = std::variant<pending_sample, pending_logs>;
    void enqueue(pending_write w, queue_weight wt);
    void flush(); // writer thread
    void commit_samples(std::vector<pending_write>& batch, std::size_t start, std::size_t end); // writer thread
    void commit_logs(pending_logs& logs);                                                     // writer thread
    void completed(queue_weight wt); // io thread
    std::unique_ptr<storage> borrow_reader();
    void return_reader(std::unique_ptr<storage> conn);

    net::any_io_executor io_;
    std::unique_ptr<storage> writer_;
    opener open_reader_;
    queue_limits limits_;
    queue_weight queued_; // io thread: submitted, not yet completed
    net::steady_timer space_freed_; // never expires; cancelled when a commit frees space
    net::thread_pool writer_thread_{1};
    net::thread_pool reader_threads_;

    std::mutex mutex_; // guards pending_ and readers_
    std::vector<pending_write> pending_;
    bool flush_scheduled_ = false;
    std::vector<std::unique_ptr<storage>> readers_;
    bool stopped_ = false;
};

template <class F> auto store::read(F f) -> net::awaitable<std::invoke_result_t<F, storage&>>
{
    using R = std::invoke_result_t<F, storage&>;
    co_return co_await run_on(reader_threads_, [this, &f]() -> R {
        auto conn = borrow_reader();
        if (!conn)
            return R(make_error_code(storage_errc::io_error));
        R r = f(*conn);
        return_reader(std::move(conn));
        return r;
    });
}

template <class F> auto store::write(F f) -> net::awaitable<std::invoke_result_t<F, storage&>>
{
    using R = std::invoke_result_t<F, storage&>;
    co_return co_await run_on(writer_thread_, [this, &f]() -> R { return f(*writer_); });
}

} // namespace corvid::collector
