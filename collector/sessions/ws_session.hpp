#pragma once
// What every WebSocket session of the collector shares (agent, metrics, logs and command-output
// sockets, and the dialect sockets to come): one bounded control queue, a data hook for frames the
// subclass coalesces itself, the single write loop (one write in flight, each within a deadline),
// one close state, the per-connection message rate limit, the first frame's deadline, pongs, and
// the polite close at shutdown through the connection group.
//
// A subclass authenticates its peer (read_first_frame), then calls serve(), which runs the read
// loop (each frame within the rate limit goes to on_frame) and the write loop until either ends.
// Queue: control frames up to limits.max_frames and limits.max_bytes; a peer that lets it fill is
// not reading and is cut off (offer() instead refuses the frame and leaves the session alone).
// Closing: close() either drains what is queued first (an agent's acks) or drops it (an operator
// socket closed for a reason), then writes the final frame if any, then the close frame, each
// within the step deadline; frames read meanwhile are ignored.
// Shutdown: the group's stop hook closes a serving session with 1001 the way limits.at_shutdown
// says, and aborts one that has not authenticated yet.
// io thread only. The session object must outlive serve() (subclasses are held by shared_ptr).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "collector/limits/rate_limit.hpp"
#include "collector/sessions/connection_group.hpp"
#include "common/ws_connection.hpp"

namespace corvid::collector {

using frame_ptr = std::shared_ptr<const std::string>;
frame_ptr make_frame(std::string text);

enum class close_mode {
    drain, // what is queued goes out first
    drop,  // what is queued is dropped
};

struct session_limits {
    std::size_t max_frames = 256;
    std::size_t max_bytes = 24 * 1024 * 1024;
    const message_rate_policy* rate = nullptr; // per connection; null: no limit
    close_mode on_rate_close = close_mode::drop;
    close_mode at_shutdown = close_mode::drop;
    std::chrono::seconds write_deadline{10};
};

// An operator's socket: 24 MiB of control frames at most (history messages run to 8 MiB), the
// frontends' message rate, and its queue dropped when it is closed for a reason or at shutdown.
constexpr session_limits operator_socket_limits(std::size_t max_frames)
{
    return {.max_frames = max_frames,
            .max_bytes = 24 * 1024 * 1024,
            .rate = &frontend_message_rate,
            .on_rate_close = close_mode::drop,
            .at_shutdown = close_mode::drop};
}

class ws_session {
public:
    virtual ~ws_session() = default;
    ws_session(const ws_session&) = delete;
    ws_session& operator=(const ws_session&) = delete;

    // Ends the session (see the header comment). The first call decides; later ones are ignored.
    // `step`: how long the final frame and the close frame may take each.
    void close(std::uint16_t code, std::string reason, close_mode mode, frame_ptr final_frame = nullptr,
               std::chrono::seconds step = std::chrono::seconds(10));
    bool closing() const { return closing_; }

protected:
    ws_session(net::any_io_executor ex, std::unique_ptr<ws_connection> conn, connection_group& group,
               session_limits limits);

    // `label` names the peer in log lines, e.g. "agent 1b4e… (10.0.0.7)".
    void set_label(std::string label) { label_ = std::move(label); }
    const std::string& label() const { return label_; }
    // While serving: a read that brings nothing for this long ends the session (a half-open link).
    void set_read_deadline(std::chrono::seconds d) { read_deadline_ = d; }

    // The first frame, within `deadline`. Nothing (and the connection aborted) when none came, the
    // link failed, or it was binary (then `binary_refusal` is sent first, with close 1008).
    net::awaitable<std::optional<std::string>> read_first_frame(std::chrono::seconds deadline,
                                                                std::string_view binary_refusal_code,
                                                                std::string_view binary_refusal_message);
    // Writes `frame` outside the queue, before serve() (auth_success): the peer is accepted, and
    // shutdown closes it politely from now on. False: the link failed.
    net::awaitable<bool> write_now(std::string_view frame);

    // Runs the read and write loops until either ends, then aborts the connection.
    net::awaitable<void> serve();
    // One frame within the rate limit (`r.ec` is ws_errc::binary_frame for a binary one). While it
    // awaits, nothing more is read; the write loop goes on.
    virtual net::awaitable<void> on_frame(ws_read_result& r) = 0;

    // The data hook: frames the subclass keeps itself (coalesced samples, log entries), asked for
    // whenever the control queue is empty.
    struct data_step {
        frame_ptr frame;                                                // write this, or
        std::optional<std::chrono::steady_clock::time_point> not_before; // wake then (throttled), or wait
    };
    virtual data_step next_data() { return {}; }
    void wake(); // the write loop looks again (queue or data)

    // Queues a control frame; a peer that lets the queue fill is cut off.
    void send(frame_ptr frame);
    void send(std::string text) { send(make_frame(std::move(text))); }
    // Queues it if there is room and the session is not closing; otherwise false, nothing else.
    bool offer(frame_ptr frame);
    void send_error(std::string code, std::string message);
    void send_pong();

    ws_connection& connection() { return *conn_; }
    net::any_io_executor executor() const { return ex_; }

private:
    net::awaitable<void> read_loop();
    net::awaitable<void> write_loop();
    net::awaitable<void> write_closing();
    bool fits(const std::string& frame) const;
    void on_shutdown();

    net::any_io_executor ex_;
    std::unique_ptr<ws_connection> conn_;
    session_limits limits_;
    std::string label_ = "peer";
    std::optional<std::chrono::seconds> read_deadline_;
    net::steady_timer wake_;
    std::deque<frame_ptr> queue_;
    std::size_t queued_bytes_ = 0;
    bool serving_ = false;
    bool closing_ = false;
    std::uint16_t close_code_ = 0;
    std::string close_reason_;
    close_mode close_mode_ = close_mode::drop;
    frame_ptr final_frame_;
    std::chrono::seconds close_step_{10};
    connection_group::stop_hook shutdown_hook_; // last: gone before the rest of the session
};

} // namespace corvid::collector
