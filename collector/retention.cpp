#include "collector/retention.hpp"

#include "common/deadline.hpp"
#include "common/log.hpp"
#include "common/time_format.hpp"

namespace corvid::collector {

net::awaitable<void> retention_loop(app& a)
{
    constexpr std::size_t slice = 10000;
    net::steady_timer timer(a.io);
    while (!a.shutting_down) {
        const auto cutoff = now_unix_ms() - a.config.retention_days * 86'400'000;
        std::size_t total = 0;
        for (;;) {
            auto deleted = co_await a.store.write([&](storage& s) { return s.delete_samples_before(cutoff, slice); });
            if (!deleted) {
                log::warn("retention: deleting old samples failed: {}", deleted.error().message());
                break;
            }
            total += *deleted;
            if (*deleted < slice || a.shutting_down)
                break;
        }
        if (total > 0)
            log::info("retention: deleted {} samples older than {} days", total, a.config.retention_days);
        // Command output goes with the samples of its age; the audit log keeps the record and the
        // output's SHA-256.
        auto commands = co_await a.store.write([&](storage& s) { return s.delete_commands_before(cutoff, slice); });
        if (!commands)
            log::warn("retention: deleting old commands failed: {}", commands.error().message());
        else if (*commands > 0)
            log::info("retention: deleted {} commands older than {} days", *commands, a.config.retention_days);
        timer.expires_after(std::chrono::hours(1));
        auto [ec] = co_await timer.async_wait(use_tuple);
        if (ec)
            co_return;
    }
}

} // namespace corvid::collector
