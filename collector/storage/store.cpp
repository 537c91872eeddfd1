#include "collector/storage/store.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

#include "common/deadline.hpp"
#include "common/log.hpp"

namespace corvid::collector {
namespace {
// A transaction larger than this is split: keeps each commit short so reads never wait long.
constexpr std::size_t max_rows_per_commit = 2000;

std::size_t sample_bytes(const sample_row& row) { return row.data_json.size() + row.server_id.size(); }
} // namespace

store::store(net::any_io_executor io, std::unique_ptr<storage> writer, opener open_reader,
             queue_limits limits, std::size_t reader_threads)
    : io_(io), writer_(std::move(writer)), open_reader_(std::move(open_reader)),
      limits_{std::max<std::size_t>(limits.max_items, 1), std::max<std::size_t>(limits.max_bytes, 1)},
      space_freed_(io, net::steady_timer::time_point::max()), reader_threads_(reader_threads == 0 ? 1 : reader_threads)
{
}

store::~store() { stop(); }

void store::submit_sample(sample_row row, std::function<void(storage_result<bool>)> done)
{
    const queue_weight w{1, sample_bytes(row)};
    enqueue(pending_sample{std::move(row), std::move(done)}, w);
}

void store::submit_logs(std::string server_id, std::uint64_t seq, std::vector<log_record> entries,
                        std::function<void(storage_result<log_insert>)> done)
{
    queue_weight w{std::max<std::size_t>(1, entries.size()), server_id.size()};
    for (const auto& e : entries)
        w.bytes += e.message.size() + e.source.size();
    enqueue(pending_logs{std::move(server_id), seq, std::move(entries), w, std::move(done)}, w);
}

void store::enqueue(pending_write w, queue_weight wt)
{
    queued_.items += wt.items;
    queued_.bytes += wt.bytes;
    bool schedule = false;
    {
        std::lock_guard lock(mutex_);
        pending_.push_back(std::move(w));
        if (!flush_scheduled_) {
            flush_scheduled_ = true;
            schedule = true;
        }
    }
    if (schedule)
        net::post(writer_thread_, [this] { flush(); });
}

net::awaitable<void> store::wait_for_write_space()
{
    // The check and the wait run without a suspension in between on the one io thread, so a
    // completion cannot slip between them. Nobody re-arms the timer: re-arming would cancel the
    // other waiters' waits, and they would wake each other in a loop (issue 12.11).
    while (write_queue_full()) {
        co_await space_freed_.async_wait(use_tuple);
        // Our own session ending cancels us too: stop waiting rather than spin on the full queue.
        // (One co_await per statement, outside conditions: README, GCC 12 and coroutines.)
        const auto state = co_await net::this_coro::cancellation_state;
        if (state.cancelled() != net::cancellation_type::none)
            co_return;
    }
}

void store::completed(queue_weight wt)
{
    const bool was_full = write_queue_full();
    queued_.items -= wt.items;
    queued_.bytes -= wt.bytes;
    if (was_full && !write_queue_full())
        space_freed_.cancel(); // wakes every waiter once; those that find it full again wait again
}

void store::flush()
{
    std::vector<pending_write> batch;
    {
        std::lock_guard lock(mutex_);
        batch.swap(pending_);
        flush_scheduled_ = false;
    }
    // In submission order: runs of samples are group-committed, each log batch commits alone.
    for (std::size_t start = 0; start < batch.size();) {
        if (auto* logs = std::get_if<pending_logs>(&batch[start])) {
            commit_logs(*logs);
            ++start;
            continue;
        }
        auto end = start;
        while (end < batch.size() && end - start < max_rows_per_commit
               && std::holds_alternative<pending_sample>(batch[end]))
            ++end;
        commit_samples(batch, start, end);
        start = end;
    }
}

void store::commit_samples(std::vector<pending_write>& batch, std::size_t start, std::size_t end)
{
    std::vector<sample_row> rows;
    rows.reserve(end - start);
    for (auto i = start; i < end; ++i)
        rows.push_back(std::get<pending_sample>(batch[i]).row);
    auto result = writer_->insert_samples(rows);
    if (!result)
        log::error("storing {} samples failed: {}", rows.size(), result.error().message());
    // Completions go back to the io thread, in submission order.
    std::vector<std::function<void(storage_result<bool>)>> dones;
    dones.reserve(end - start);
    for (auto i = start; i < end; ++i)
        dones.push_back(std::move(std::get<pending_sample>(batch[i]).done));
    queue_weight total{dones.size(), 0};
    for (const auto& row : rows)
        total.bytes += sample_bytes(row); // as enqueue() counted them
    net::post(io_, [this, total, dones = std::move(dones), result = std::move(result)]() mutable {
        for (std::size_t i = 0; i < dones.size(); ++i) {
            if (result)
                dones[i]((*result)[i]);
            else
                dones[i](storage_result<bool>(boost::system::in_place_error, result.error()));
        }
        completed(total);
    });
}

void store::commit_logs(pending_logs& logs)
{
    auto result = writer_->insert_log_batch(logs.server_id, logs.seq, logs.entries);
    if (!result)
        log::error("storing log batch {} of server {} ({} entries) failed: {}", logs.seq, logs.server_id,
                   logs.entries.size(), result.error().message());
    net::post(io_, [this, done = std::move(logs.done), weight = logs.weight, result = std::move(result)]() mutable {
        done(std::move(result));
        completed(weight);
    });
}

std::unique_ptr<storage> store::borrow_reader()
{
    {
        std::lock_guard lock(mutex_);
        if (!readers_.empty()) {
            auto conn = std::move(readers_.back());
            readers_.pop_back();
            return conn;
        }
    }
    auto opened = open_reader_();
    if (!opened) {
        log::error("cannot open a read connection: {}", opened.error().message());
        return nullptr;
    }
    return std::move(*opened);
}

void store::return_reader(std::unique_ptr<storage> conn)
{
    std::lock_guard lock(mutex_);
    readers_.push_back(std::move(conn));
}

void store::stop()
{
    if (stopped_)
        return;
    stopped_ = true;
    // Queued work (including a scheduled flush) runs before the threads end: nothing accepted is lost.
    writer_thread_.join();
    reader_threads_.join();
}

} // namespace corvid::collector
