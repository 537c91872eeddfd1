#pragma once
// One WebSocket connection (client or server side, plain or TLS) behind a small interface, so
// the session logic of the agent, the collector and the load generator includes no Beast
// WebSocket headers: those compile once, in ws_connection.cpp.
// Threading: a connection belongs to the io thread that made it. At most one read() and one
// write() may be outstanding at a time (Beast's rule); close() must not overlap a write().
// Cancellation: abort() closes the socket at once and every pending operation completes with
// an error; callers use it to end all loops of a session.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace corvid {

namespace net = boost::asio;

enum class ws_errc {
    binary_frame = 1, // the peer sent a binary message; the protocol is text only
    bad_url,
    tls_setup,        // the CA file could not be loaded (or tls_pin_sha256 is malformed)
    pin_mismatch,     // the peer's certificate is not the one tls_pin_sha256 names
};
const boost::system::error_category& ws_category();
boost::system::error_code make_error_code(ws_errc e);
// True when `ec` is OpenSSL's: the TLS handshake failed, e.g. the peer's certificate did not verify.
// Compared by category object, not by its name.
bool is_tls_error(const boost::system::error_code& ec);

// WebSocket close codes the protocol uses (RFC 6455, 7.4.1).
namespace close_code {
inline constexpr std::uint16_t normal = 1000, going_away = 1001, protocol_error = 1002, unsupported_data = 1003,
                               policy_violation = 1008, too_big = 1009, internal_error = 1011;
}

struct ws_read_result {
    boost::system::error_code ec;
    std::string text;
};

class ws_connection {
public:
    virtual ~ws_connection() = default;
    // One whole text message. A message over max_message_bytes fails (and Beast closes with 1009).
    virtual net::awaitable<ws_read_result> read() = 0;
    virtual net::awaitable<boost::system::error_code> write(std::string_view text) = 0;
    // Polite close: sends a close frame with `code` and waits (bounded) for the peer's reply.
    virtual net::awaitable<void> close(std::uint16_t code, std::string_view reason) = 0;
    virtual void abort() = 0;
    virtual bool is_open() const = 0;
    // The peer's address as text ("127.0.0.1"), for logs and per-address limits.
    virtual std::string remote_address() const = 0;
};

struct ws_timeouts {
    std::chrono::seconds handshake{10};
    // Nothing received for this long closes the connection. A WebSocket ping is sent at half of
    // it, so a live peer always answers in time and only a dead link times out.
    std::chrono::seconds idle{30};
};

// ---- client side -----------------------------------------------------------------------------

struct ws_url {
    bool tls = false;
    std::string host, port, target; // target includes the query, "/api/v1/agents/ws"
};
// Accepts ws://host[:port][/path] and wss://…; IPv6 hosts in brackets. Default ports 80 / 443.
boost::system::result<ws_url> parse_ws_url(std::string_view url);

struct ws_client_options {
    ws_timeouts timeouts;
    std::chrono::seconds connect_timeout{10}; // DNS + TCP + TLS + upgrade, all together
    std::string ca_file;                      // wss: PEM bundle to trust instead of the system CAs
    // wss: SHA-256 of the peer's leaf certificate (hex, colons optional). Checked in addition to
    // the CA chain and host name, never instead of them; a mismatch is logged with both values.
    std::string tls_pin_sha256;
    std::size_t max_message_bytes = 1 << 20;
    std::string user_agent;
};

// Resolves the host again on every call (DNS changes are picked up), connects, performs the TLS
// handshake (peer verified against the CAs and the host name, never silently skipped; then the
// pin, when one is set) and the WebSocket upgrade. Nothing is sent on the WebSocket before all
// of these checks pass.
net::awaitable<boost::system::result<std::unique_ptr<ws_connection>>>
ws_connect(net::any_io_executor ex, const ws_url& url, const ws_client_options& options);

} // namespace corvid

template <> struct boost::system::is_error_code_enum<corvid::ws_errc> : std::true_type {};
