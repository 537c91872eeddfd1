#include "collector/auth/identity_watch.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <unordered_map>

#include "common/log.hpp"
#include "common/time_format.hpp"

namespace corvid::collector {

std::string_view revocation_code(revocation r)
{
    switch (r) {
    case revocation::user_deleted: return "user_deleted";
    case revocation::user_disabled: return "user_disabled";
    case revocation::role_insufficient: return "forbidden";
    case revocation::token_revoked: return "token_revoked";
    case revocation::token_expired: return "token_expired";
    }
    return "token_revoked";
}

std::string_view revocation_message(revocation r)
{
    switch (r) {
    case revocation::user_deleted: return "your user was deleted";
    case revocation::user_disabled: return "your user was disabled";
    case revocation::role_insufficient: return "your role no longer allows this";
    case revocation::token_revoked: return "your session was ended (logout, or a password or role change); sign in again";
    case revocation::token_expired: return "your session expired; sign in again";
    }
    return "your session was ended";
}

std::optional<revocation> check_identity(const watched_identity& id, const user_record* user, std::int64_t now_s)
{
    if (!user)
        return revocation::user_deleted;
    if (user->disabled)
        return revocation::user_disabled;
    if (user->role < id.min_role)
        return revocation::role_insufficient;
    if (user->token_generation != id.generation)
        return revocation::token_revoked;
    if (now_s >= id.expires_at_s)
        return revocation::token_expired;
    return std::nullopt;
}

identity_watch::identity_watch(net::any_io_executor io, loader load, std::chrono::milliseconds poll_interval,
                               clock now_s)
    : load_(std::move(load)), interval_(poll_interval),
      now_s_(now_s ? std::move(now_s) : clock([] { return now_unix_ms() / 1000; })), wake_(io)
{
}

std::uint64_t identity_watch::watch(watched_identity id, on_revoked cb)
{
    const auto key = next_id_++;
    const bool was_empty = watched_.empty();
    watched_.emplace(key, entry{std::move(id), std::move(cb)});
    if (was_empty)
        wake_.cancel(); // the loop sleeps without deadline while nothing is watched
    return key;
}

void identity_watch::unwatch(std::uint64_t id) { watched_.erase(id); }

void identity_watch::check_soon()
{
    dirty_ = true;
    wake_.cancel();
}

void identity_watch::stop()
{
    stopped_ = true;
    wake_.cancel();
}

void identity_watch::apply(const std::vector<user_record>& users, std::int64_t now_s)
{
    std::unordered_map<std::string_view, const user_record*> by_name;
    by_name.reserve(users.size());
    for (const auto& u : users)
        by_name.emplace(u.username, &u);
    // Callbacks may register or unregister sockets: collect first, call after the pass.
    std::vector<std::pair<on_revoked, revocation>> due;
    for (auto it = watched_.begin(); it != watched_.end();) {
        const auto found = by_name.find(it->second.id.username);
        const auto verdict = check_identity(it->second.id, found == by_name.end() ? nullptr : found->second, now_s);
        if (verdict) {
            due.emplace_back(std::move(it->second.cb), *verdict);
            it = watched_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto& [cb, why] : due)
        if (cb)
            cb(why);
}

net::awaitable<void> identity_watch::run()
{
    const auto as_tuple = net::as_tuple(net::use_awaitable);
    while (!stopped_) {
        if (watched_.empty()) {
            dirty_ = false; // nothing open could be affected by what changed
            wake_.expires_at(net::steady_timer::time_point::max());
            co_await wake_.async_wait(as_tuple);
            continue;
        }
        if (!dirty_) {
            wake_.expires_after(interval_);
            co_await wake_.async_wait(as_tuple);
            if (stopped_)
                break;
        }
        dirty_ = false; // a check_soon() from here on is after the read began: it triggers another
        if (watched_.empty())
            continue;
        auto users = co_await load_();
        if (stopped_)
            break;
        if (!users) {
            if (!read_failing_)
                log::warn("identity watch: cannot read users ({}); open operator sockets are not re-checked until "
                          "a read succeeds", users.error().message());
            read_failing_ = true;
            continue;
        }
        if (read_failing_)
            log::info("identity watch: users can be read again");
        read_failing_ = false;
        apply(*users, now_s_());
    }
}

} // namespace corvid::collector
