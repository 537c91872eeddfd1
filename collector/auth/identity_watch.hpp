#pragma once
// Ends operator sockets (metrics, logs, command output) whose identity no longer holds: the user
// was deleted or disabled, fell below the role the socket needs, had its tokens revoked (the
// stored token generation moved on: logout, password or role change, disable), or the token
// expired. A REST request checks the same on its own at every call (operator_auth.hpp); a socket
// is authenticated once, so it registers here.
// One loop checks every registered socket with ONE storage read of all users (not one per
// socket): every poll_interval (1 s), and at once after check_soon(), which the REST API calls
// after it changed a user. Polling is needed anyway: `corvid-collector user ...` changes users
// from another process while the collector runs. Expiry is checked by the same pass, so a socket
// ends at most poll_interval plus one read after whatever ended it (well within 5 s), without a
// timer per socket. While nothing is registered the loop sleeps and reads nothing.
// A failed read changes nothing and is logged once per run of failures: sockets stay open until
// a read succeeds (REST requests meanwhile fail closed, each reading the user itself).
// Callbacks run on the io thread, at most once each; the registration is gone before it runs.
// io thread only, no locks.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "collector/storage/storage.hpp"

namespace corvid::collector {

namespace net = boost::asio;

enum class revocation { user_deleted, user_disabled, role_insufficient, token_revoked, token_expired };

// The `code` of the error frame sent before the close (PROTOCOL.md section 7), and its message.
std::string_view revocation_code(revocation r);
std::string_view revocation_message(revocation r);

struct watched_identity {
    std::string username;
    std::int64_t generation = 0;   // the token's "gen"
    std::int64_t expires_at_s = 0; // the token's "exp"
    role min_role = role::viewer;  // the least role the socket needs
};

// Pure: what ends `id` now, given its user as stored (nullptr: no such user), or nothing.
// The first that applies, in this order: deleted, disabled, role, generation, expiry.
std::optional<revocation> check_identity(const watched_identity& id, const user_record* user, std::int64_t now_s);

class identity_watch {
public:
    using loader = std::function<net::awaitable<storage_result<std::vector<user_record>>>()>;
    using on_revoked = std::function<void(revocation)>;
    using clock = std::function<std::int64_t()>; // Unix seconds

    identity_watch(net::any_io_executor io, loader load, std::chrono::milliseconds poll_interval = std::chrono::seconds(1),
                   clock now_s = {});

    // Registers a socket; the id is for unwatch(). Call unwatch when the socket ends.
    std::uint64_t watch(watched_identity id, on_revoked cb);
    void unwatch(std::uint64_t id);
    std::size_t size() const { return watched_.size(); }

    // A user changed here: check at once rather than at the next tick.
    void check_soon();
    // The loop; spawn once. Ends after stop().
    net::awaitable<void> run();
    void stop();

    // One pass over every registered socket against `users` (run() does this after each read).
    void apply(const std::vector<user_record>& users, std::int64_t now_s);

private:
    struct entry {
        watched_identity id;
        on_revoked cb;
    };

    loader load_;
    std::chrono::milliseconds interval_;
    clock now_s_;
    net::steady_timer wake_;
    std::unordered_map<std::uint64_t, entry> watched_;
    std::uint64_t next_id_ = 1;
    bool dirty_ = false;   // check_soon() since the last read began
    bool stopped_ = false;
    bool read_failing_ = false;
};

} // namespace corvid::collector
