#pragma once
// The owner of every connection coroutine of the collector (HTTP keep-alive connections, TLS
// handshakes and WebSocket sessions), in the spirit of Beast's task group: shutdown is
// "stop accepting, ask every member to end politely, await the group with a deadline", with no
// polling and no raw-pointer sets.
//
// A member ends politely in its own way, so it says how with a stop hook while it is in a state
// that needs one: a WebSocket session closes with 1001 after its write in flight; an idle
// keep-alive connection or a TLS handshake just closes its socket; a REST request in progress
// needs none (it answers, and the connection then sees stopping() and ends).
// At the deadline every member still running gets a terminal cancellation, and stop() returns
// anyway: whoever awaits it stops the io loop next.
// io thread only.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>

namespace corvid::collector {

namespace net = boost::asio;

class connection_group {
public:
    explicit connection_group(net::any_io_executor ex);
    connection_group(const connection_group&) = delete;
    connection_group& operator=(const connection_group&) = delete;

    // Runs `member` in the group. After stop() it is not started and false is returned.
    bool spawn(net::awaitable<void> member);

    // Registered while it lives; stop() calls it once. Destroy it before what the hook touches.
    class stop_hook {
    public:
        stop_hook() = default;
        stop_hook(stop_hook&& other) noexcept;
        stop_hook& operator=(stop_hook&& other) noexcept;
        ~stop_hook();

    private:
        friend class connection_group;
        using table = std::map<std::uint64_t, std::function<void()>>;
        stop_hook(std::weak_ptr<table> hooks, std::uint64_t id) : hooks_(std::move(hooks)), id_(id) {}
        // Weak: a session destroyed with the io_context, after the group, must not touch it.
        std::weak_ptr<table> hooks_;
        std::uint64_t id_ = 0;
    };
    // After stop() the hook runs at once (the member asked too late to be asked later).
    [[nodiscard]] stop_hook on_stop(std::function<void()> hook);

    // Calls every stop hook, then waits until every member has ended or `deadline` has passed; at
    // the deadline the members left are cancelled (terminal) and it returns without them.
    net::awaitable<void> stop(std::chrono::steady_clock::duration deadline);
    bool stopping() const { return stopping_; }
    std::size_t size() const { return members_.size(); }

private:
    void on_member_end(std::list<net::cancellation_signal>::iterator it);

    net::any_io_executor ex_;
    std::list<net::cancellation_signal> members_; // one per running member, for the deadline
    std::shared_ptr<stop_hook::table> hooks_ = std::make_shared<stop_hook::table>();
    std::uint64_t next_hook_ = 1;
    net::steady_timer empty_; // a condition variable: cancelled when the last member ends
    bool stopping_ = false;
};

} // namespace corvid::collector
