#include "collector/auth/login_limiter.hpp"

#include <algorithm>

namespace corvid::collector {

login_limiter::login_limiter(options o) : options_(o)
{
    // Zero would block everyone forever or track no one; treat it as the least meaningful value.
    options_.max_failures = std::max<std::size_t>(options_.max_failures, 1);
    options_.max_tracked = std::max<std::size_t>(options_.max_tracked, 1);
}

std::optional<std::chrono::seconds> login_limiter::retry_after(std::string_view address, time_point now) const
{
    const auto it = entries_.find(address);
    if (it == entries_.end() || it->second.failures.size() < options_.max_failures)
        return std::nullopt;
    // The list holds exactly the last max_failures failures; blocked while the oldest is in the window.
    const auto free_at = it->second.failures.front() + options_.window;
    if (free_at <= now)
        return std::nullopt;
    const auto wait = std::chrono::ceil<std::chrono::seconds>(free_at - now);
    return std::max(wait, std::chrono::seconds(1));
}

void login_limiter::record_failure(std::string_view address, time_point now)
{
    forget_expired(now);
    auto it = entries_.find(address);
    if (it == entries_.end()) {
        if (entries_.size() >= options_.max_tracked) {
            entries_.erase(order_.front());
            order_.pop_front();
        }
        order_.emplace_back(address);
        it = entries_.emplace(std::string(address), entry{{}, std::prev(order_.end())}).first;
    } else {
        order_.splice(order_.end(), order_, it->second.position); // now the most recently failed
    }
    auto& failures = it->second.failures;
    // Failures older than the window no longer count; beyond max_failures only the newest matter.
    failures.erase(failures.begin(), std::find_if(failures.begin(), failures.end(),
                                                  [&](time_point t) { return t + options_.window > now; }));
    if (failures.size() >= options_.max_failures)
        failures.erase(failures.begin());
    failures.push_back(now);
}

void login_limiter::record_success(std::string_view address)
{
    const auto it = entries_.find(address);
    if (it == entries_.end())
        return;
    order_.erase(it->second.position);
    entries_.erase(it);
}

void login_limiter::release(std::string_view key, time_point at)
{
    const auto it = entries_.find(key);
    if (it == entries_.end())
        return;
    auto& failures = it->second.failures;
    // Attempts reserved in the same instant are alike: taking back any one of them is the same.
    const auto found = std::find(failures.begin(), failures.end(), at);
    if (found == failures.end())
        return;
    failures.erase(found);
    if (failures.empty()) {
        order_.erase(it->second.position);
        entries_.erase(it);
    }
}

void login_limiter::forget_expired(time_point now)
{
    // The list is ordered by latest failure, so expired entries gather at its front.
    while (!order_.empty()) {
        const auto it = entries_.find(order_.front());
        if (it->second.failures.back() + options_.window > now)
            break;
        entries_.erase(it);
        order_.pop_front();
    }
}

} // namespace corvid::collector
