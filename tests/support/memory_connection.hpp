#pragma once
// For tests: a ws_connection held in memory, so a session runs its real code with no socket. The
// test plays the peer: it queues frames for the session to read, looks at what the session wrote,
// and can stall writes (a peer that does not read) or hang up.
// A read waits (on a timer used as a condition variable) until a frame is queued, the peer hangs
// up, or the connection is aborted. io thread only.
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/deadline.hpp"
#include "common/ws_connection.hpp"

namespace corvid::test {

// The test's end of the connection; it outlives the session's end (shared).
struct memory_peer {
    explicit memory_peer(net::any_io_executor ex) : readable(ex), writable(ex) {}

    void push_text(std::string text)
    {
        inbound.push_back(ws_read_result{{}, std::move(text)});
        readable.cancel();
    }
    void push_binary()
    {
        inbound.push_back(ws_read_result{make_error_code(ws_errc::binary_frame), {}});
        readable.cancel();
    }
    void hang_up()
    {
        hung_up = true;
        readable.cancel();
    }
    void resume_writes()
    {
        stall_writes = false;
        writable.cancel();
    }

    std::deque<ws_read_result> inbound;  // frames for the session to read
    std::vector<std::string> written;    // frames the session wrote, in order
    std::optional<std::uint16_t> close_code;
    std::string close_reason;
    bool aborted = false;
    bool hung_up = false;                // the peer closed: the next read ends with an error
    bool stall_writes = false;           // writes wait until the connection is aborted
    std::string address = "192.0.2.7";
    net::steady_timer readable, writable; // condition variables: cancelled when there is news
};

class memory_connection final : public ws_connection {
public:
    explicit memory_connection(std::shared_ptr<memory_peer> peer) : peer_(std::move(peer)) {}

    net::awaitable<ws_read_result> read() override
    {
        for (;;) {
            if (peer_->aborted)
                co_return ws_read_result{net::error::operation_aborted, {}};
            if (!peer_->inbound.empty()) {
                auto r = std::move(peer_->inbound.front());
                peer_->inbound.pop_front();
                co_return r;
            }
            if (peer_->hung_up)
                co_return ws_read_result{net::error::eof, {}};
            co_await wait_for_wake(peer_->readable);
        }
    }

    net::awaitable<boost::system::error_code> write(std::string_view text) override
    {
        while (peer_->stall_writes && !peer_->aborted)
            co_await wait_for_wake(peer_->writable);
        if (peer_->aborted)
            co_return net::error::operation_aborted;
        peer_->written.emplace_back(text);
        co_return boost::system::error_code{};
    }

    net::awaitable<void> close(std::uint16_t code, std::string_view reason) override
    {
        if (!peer_->aborted && !peer_->close_code) {
            peer_->close_code = code;
            peer_->close_reason = std::string(reason);
        }
        co_return;
    }

    void abort() override
    {
        peer_->aborted = true;
        peer_->readable.cancel();
        peer_->writable.cancel();
    }
    bool is_open() const override { return !peer_->aborted && !peer_->close_code; }
    std::string remote_address() const override { return peer_->address; }

private:
    std::shared_ptr<memory_peer> peer_;
};

} // namespace corvid::test
