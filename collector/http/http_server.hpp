#pragma once
// The collector's single listener: HTTP/1.1 with keep-alive for the REST API, and WebSocket
// upgrades for agents and frontends, one coroutine per connection. Limits: 8 KiB of headers,
// config.max_body_bytes of body, 30 s to send a whole request (no slowloris), 60 s idle between
// keep-alive requests.
// io thread only. stop() closes the listener and every idle HTTP connection; WebSocket sessions
// are closed through the app's registries (see main).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <set>

#include "collector/app.hpp"

namespace corvid::collector {

class http_server {
public:
    explicit http_server(app& a);
    ~http_server();
    // Binds and listens; returns the bound endpoint (port 0 picks a free port).
    boost::system::result<net::ip::tcp::endpoint> listen(const std::string& host, const std::string& port);
    void start();
    void stop();

private:
    net::awaitable<void> accept_loop();
    net::awaitable<void> serve(net::ip::tcp::socket socket);

    app& app_;
    net::ip::tcp::acceptor acceptor_;
    std::set<net::ip::tcp::socket*> idle_http_; // connections between requests, closed on stop()
    bool accept_failing_ = false;               // logged once per episode of accept errors
};

} // namespace corvid::collector
