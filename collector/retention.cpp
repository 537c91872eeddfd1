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
        // A gap says what is missing from data that is itself gone by now.
        auto gaps = co_await a.store.write([&](storage& s) { return s.delete_gaps_before(cutoff, slice); });
        if (!gaps)
            log::warn("retention: deleting old gaps failed: {}", gaps.error().message());
        timer.expires_after(std::chrono::hours(1));
        auto [ec] = co_await timer.async_wait(use_tuple);
        if (ec)
            co_return;
    }
}

net::awaitable<void> log_retention_loop(app& a)
{
    constexpr std::size_t slice = 5000;
    const auto max_bytes = static_cast<std::uint64_t>(a.config.log_max_mb) * 1024 * 1024;
    net::steady_timer timer(a.io);
    while (!a.shutting_down) {
        const auto cutoff = now_unix_ms() - a.config.log_retention_days * 86'400'000;
        std::size_t by_age = 0, by_size = 0;
        for (;;) {
            auto deleted = co_await a.store.write([&](storage& s) { return s.delete_logs_before(cutoff, slice); });
            if (!deleted) {
                log::warn("retention: deleting old log entries failed: {}", deleted.error().message());
                break;
            }
            by_age += *deleted;
            if (*deleted < slice || a.shutting_down)
                break;
        }
        for (;;) {
            auto deleted = co_await a.store.write([&](storage& s) { return s.trim_logs_to(max_bytes, slice); });
            if (!deleted) {
                log::warn("retention: trimming log entries to {} MiB failed: {}", a.config.log_max_mb,
                          deleted.error().message());
                break;
            }
            by_size += *deleted;
            if (*deleted == 0 || a.shutting_down)
                break;
        }
        if (by_age > 0)
            log::info("retention: deleted {} log entries older than {} days", by_age, a.config.log_retention_days);
        if (by_size > 0)
            log::info("retention: deleted the {} oldest log entries to stay within log_max_mb = {}", by_size,
                      a.config.log_max_mb);
        timer.expires_after(std::chrono::minutes(1));
        auto [ec] = co_await timer.async_wait(use_tuple);
        if (ec)
            co_return;
    }
}

} // namespace corvid::collector
