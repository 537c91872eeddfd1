#include "agent/spool_thread.hpp"

#include "common/log.hpp"

namespace corvid::agent {

spool_thread::spool_thread(spool s) : spool_(std::move(s)) {}

spool_thread::~spool_thread()
{
    pool_.stop();
    pool_.join();
}

void spool_thread::acknowledge(std::uint64_t seq)
{
    std::lock_guard lock(mutex_);
    const bool queued = pending_ack_.has_value();
    if (!queued || *pending_ack_ < seq)
        pending_ack_ = seq;
    if (!queued)
        net::post(pool_, [this] { write_ack(); });
}

void spool_thread::write_ack()
{
    std::optional<std::uint64_t> seq;
    {
        std::lock_guard lock(mutex_);
        seq = std::exchange(pending_ack_, std::nullopt);
    }
    if (!seq)
        return;
    // On failure the old ack point stays; the records are sent again later, which is harmless.
    if (auto ec = spool_.acknowledge(*seq))
        log::warn("spool {}: cannot record ack {}: {}", spool_.options().dir, *seq, ec.message());
}

} // namespace corvid::agent
