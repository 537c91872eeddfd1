#include "collector/http/rest_api.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <charconv>
#include <fmt/format.h>

#include "collector/auth/api_key.hpp"
#include "collector/auth/jwt.hpp"
#include "collector/auth/password.hpp"
#include "collector/http/json_body.hpp"
#include "collector/names.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"
#include "common/random.hpp"
#include "common/time_format.hpp"

namespace corvid::collector {
namespace http = boost::beast::http;
using status = http::status;

namespace {
constexpr std::size_t max_samples_per_request = 10000;
// A history answer stops after the sample that takes it to this many bytes (issue 12.8: one call
// returned 61 MB). Samples are at most 64 KiB each (PROTOCOL.md), so a body stays under 8.1 MiB.
constexpr std::size_t max_history_body_bytes = 8 * 1024 * 1024;

std::string error_body(std::string_view message)
{
    std::string s = R"({"error":)";
    append_json_string(s, message);
    s += '}';
    return s;
}

std::string server_json(const server_record& s, bool online, std::optional<std::int64_t> last_seen)
{
    std::string out = R"({"id":)";
    append_json_string(out, s.id);
    out += R"(,"name":)";
    append_json_string(out, s.name);
    out += fmt::format(R"(,"online":{},"last_seen":)", online ? "true" : "false");
    if (last_seen)
        append_json_string(out, format_iso8601_ms(*last_seen));
    else
        out += "null";
    out += R"(,"hostname":)";
    append_json_string(out, s.hostname);
    out += R"(,"agent_version":)";
    append_json_string(out, s.agent_version);
    out += '}';
    return out;
}

// A constant hash to verify against when the user does not exist, so that a login for an
// unknown name takes as long as one with a wrong password (no user enumeration by timing).
const std::string& dummy_password_hash()
{
    static const std::string hash = hash_password(random_bytes(16));
    return hash;
}

} // namespace

boost::system::result<login_body, body_error> read_login_body(std::string_view body)
{
    auto fields = read_string_fields(body, {"username", "password"});
    if (!fields)
        return fields.error();
    return login_body{std::move((*fields)["username"]), std::move((*fields)["password"])};
}

boost::system::result<std::string, body_error> read_new_server_body(std::string_view body)
{
    auto fields = read_string_fields(body, {"name"});
    if (!fields)
        return fields.error();
    std::string name = std::move((*fields)["name"]);
    if (auto problem = check_server_name(name))
        return body_error{std::move(*problem)};
    return {boost::system::in_place_value, std::move(name)};
}

net::awaitable<http_response> post_login(rest_call& c)
{
    auto body = read_login_body(c.req.body());
    if (!body)
        co_return error_response(c.req, status::bad_request, body.error().message);
    const std::string username = std::move(body->username);
    const std::string password = std::move(body->password);
    // The attempt counts (per user and per address) before anything is verified, so parallel
    // guesses are all counted before the first is checked (login_attempts.hpp).
    auto reserved = c.a.logins.begin(username, c.peer, login_attempts::clock::now());
    if (auto* wait = std::get_if<std::chrono::seconds>(&reserved)) {
        auto res = json_response(c.req, status::too_many_requests,
                        fmt::format(R"({{"error":"too many failed logins","retry_after":{}}})", wait->count()));
        res.set(http::field::retry_after, std::to_string(wait->count()));
        co_return res;
    }
    const auto ticket = std::get<login_attempts::ticket>(std::move(reserved));
    // The lookup is a storage read; only the argon2id verification runs in the password pool.
    auto found = co_await c.a.store.read([&](storage& s) { return s.find_user(username); });
    if (!found) {
        c.a.logins.abandoned(ticket);
        co_return storage_failure(c.req, found.error());
    }
    // An unknown user is verified against a constant hash: as slow as a wrong password. (Made on a
    // pool thread the first time: hashing never runs on the io thread.)
    const std::string* stored = *found ? &(*found)->password_hash : nullptr;
    auto verified = co_await c.a.passwords.run(
        [stored, &password] { return verify_password(stored ? *stored : dummy_password_hash(), password); });
    if (!verified) {
        c.a.logins.abandoned(ticket); // never verified: not a guess
        auto res = error_response(c.req, status::service_unavailable, "too many logins in progress; try again shortly");
        res.set(http::field::retry_after, std::to_string(password_pool::retry_after_s));
        co_return res;
    }
    // A disabled user with the right password is refused like a wrong one: the answer must not
    // confirm a password that would work again once the user is enabled.
    if (!*verified || !*found || (*found)->disabled) {
        c.a.logins.failed(ticket);
        log::warn("failed login for user '{}' from {}", make_valid_utf8(username.substr(0, 64)), c.peer);
        co_return error_response(c.req, status::unauthorized, "invalid credentials");
    }
    c.a.logins.succeeded(ticket);
    token_claims claims;
    claims.subject = (*found)->username;
    claims.issued_at_s = now_unix_ms() / 1000;
    claims.expires_at_s = claims.issued_at_s + c.a.config.token_ttl_s;
    claims.generation = (*found)->token_generation;
    const auto token = issue_token(c.a.token_secret, claims);
    log::info("user '{}' logged in from {}", claims.subject, c.peer);
    co_return json_response(c.req, status::ok, fmt::format(R"({{"access_token":"{}","token_type":"bearer","expires_in":{}}})", token,
                                           c.a.config.token_ttl_s));
}

net::awaitable<http_response> post_logout(rest_call& c)
{
    user_change change;
    change.revoke_tokens = true;
    audit_record line;
    line.at_ms = now_unix_ms();
    line.actor = c.who->username;
    line.address = c.peer;
    auto changed = co_await c.a.store.write([&](storage& s) { return s.change_user(c.who->username, change, line); });
    if (!changed)
        co_return storage_failure(c.req, changed.error());
    // Every token of the user stops working now; its open sockets close within a second.
    c.a.identities.check_soon();
    log::info("user '{}' logged out from {}: all of its tokens are revoked", c.who->username, c.peer);
    co_return no_content(c.req);
}

net::awaitable<http_response> list_servers(rest_call& c)
{
    auto servers = co_await c.a.store.read([](storage& s) { return s.list_servers(); });
    if (!servers)
        co_return storage_failure(c.req, servers.error());
    std::string body = "[";
    for (const auto& s : *servers) {
        if (body.size() > 1)
            body += ',';
        const bool online = c.a.agents.online(s.id);
        body += server_json(s, online, online ? c.a.agents.last_seen_ms(s.id) : s.last_seen_ms);
    }
    body += ']';
    co_return json_response(c.req, status::ok, std::move(body));
}

net::awaitable<http_response> get_server(rest_call& c)
{
    auto server = co_await c.a.store.read([&](storage& s) { return s.find_server(c.path.server_id); });
    if (!server)
        co_return storage_failure(c.req, server.error());
    if (!*server)
        co_return error_response(c.req, status::not_found, "no such server");
    const bool online = c.a.agents.online(c.path.server_id);
    co_return json_response(c.req, status::ok,
                   server_json(**server, online, online ? c.a.agents.last_seen_ms(c.path.server_id) : (*server)->last_seen_ms));
}

net::awaitable<http_response> create_server(rest_call& c)
{
    auto body = read_new_server_body(c.req.body());
    if (!body)
        co_return error_response(c.req, status::bad_request, body.error().message);
    const std::string name = std::move(*body);
    server_record rec;
    rec.id = uuid_v4();
    rec.name = name;
    rec.created_at_ms = now_unix_ms();
    const auto key = generate_api_key();
    const auto hash = hash_api_key(key);
    auto added = co_await c.a.store.write([&](storage& s) { return s.add_server(rec, hash); });
    if (!added)
        co_return storage_failure(c.req, added.error());
    log::info("user '{}' created server {} ('{}')", c.who->username, rec.id, rec.name);
    co_return json_response(c.req, status::created,
                   server_created_json(rec.id, rec.name, key, base64_encode(c.a.command_keys.public_key)));
}

net::awaitable<http_response> delete_server(rest_call& c)
{
    // Close live sockets first, so no new sample of this server is queued after the delete.
    c.a.agents.close(c.path.server_id, "server deleted");
    c.a.presence.forget_server(c.path.server_id);
    c.a.hub.forget_server(c.path.server_id);
    c.a.logs.forget_server(c.path.server_id);
    auto deleted = co_await c.a.store.write([&](storage& s) { return s.delete_server(c.path.server_id); });
    if (!deleted)
        co_return storage_failure(c.req, deleted.error());
    if (!*deleted)
        co_return error_response(c.req, status::not_found, "no such server");
    log::info("user '{}' deleted server {}", c.who->username, c.path.server_id);
    co_return no_content(c.req);
}

net::awaitable<http_response> rotate_api_key(rest_call& c)
{
    const auto key = generate_api_key();
    const auto hash = hash_api_key(key);
    auto replaced = co_await c.a.store.write([&](storage& s) { return s.replace_api_key_hash(c.path.server_id, hash); });
    if (!replaced)
        co_return storage_failure(c.req, replaced.error());
    if (!*replaced)
        co_return error_response(c.req, status::not_found, "no such server");
    // The old key stops working now, and so does the connection it opened.
    c.a.agents.close(c.path.server_id, "API key rotated");
    log::info("user '{}' rotated the API key of server {}", c.who->username, c.path.server_id);
    std::string body = R"({"api_key":)";
    append_json_string(body, key);
    body += '}';
    co_return json_response(c.req, status::ok, std::move(body));
}

net::awaitable<http_response> get_metrics(rest_call& c)
{
    auto query = parse_query(c.req.target());
    if (!query)
        co_return error_response(c.req, status::bad_request, "malformed query string");
    const auto now_s = now_unix_ms() / 1000;
    std::int64_t to = now_s, from = now_s - 3600;
    constexpr std::int64_t max_unix_s = 253402300799; // 9999-12-31T23:59:59Z
    const auto to_param = query_int(*query, "to", 0, max_unix_s);
    if (!to_param)
        co_return error_response(c.req, status::bad_request, "'to' must be a Unix time in seconds");
    const auto from_param = query_int(*query, "from", 0, max_unix_s);
    if (!from_param)
        co_return error_response(c.req, status::bad_request, "'from' must be a Unix time in seconds");
    const auto limit_param = query_int(*query, "limit", 1, static_cast<std::int64_t>(max_samples_per_request));
    if (!limit_param)
        co_return error_response(c.req, status::bad_request, fmt::format("'limit' must be 1 to {}", max_samples_per_request));
    if (*to_param) {
        to = **to_param;
        from = to - 3600;
    }
    if (*from_param)
        from = **from_param;
    const auto limit = static_cast<std::size_t>(limit_param->value_or(max_samples_per_request));
    if (from > to)
        co_return error_response(c.req, status::bad_request, "'from' is after 'to'");
    const std::string id = c.path.server_id;
    auto missing = co_await server_missing(c.a, c.req, id);
    if (missing)
        co_return std::move(*missing);
    // `to` covers its whole second. The body (up to 10,000 samples, about max_history_body_bytes)
    // is assembled on the reader thread; `truncated` says the client should ask again from the
    // last timestamp it got.
    auto body = co_await c.a.store.read([&](storage& s) -> storage_result<std::string> {
        auto rows = s.samples_between(id, from * 1000, to * 1000 + 999, limit, max_history_body_bytes);
        if (!rows)
            return rows.error();
        std::string out = R"({"server_id":)";
        append_json_string(out, id);
        out += R"(,"samples":[)";
        std::size_t bytes = 0;
        for (std::size_t i = 0; i < rows->size(); ++i) {
            if (i)
                out += ',';
            out += (*rows)[i].data_json;
            bytes += (*rows)[i].data_json.size();
        }
        const bool cut = rows->size() == limit || bytes >= max_history_body_bytes;
        out += fmt::format(R"(],"truncated":{}}})", cut ? "true" : "false");
        return out;
    });
    if (!body)
        co_return storage_failure(c.req, body.error());
    co_return json_response(c.req, status::ok, std::move(*body));
}

net::awaitable<http_response> get_health(rest_call& c)
{
    co_return json_response(c.req, status::ok, fmt::format(R"({{"status":"healthy","agents_connected":{},"frontends_connected":{}}})",
                                        c.a.agents.count(), c.a.presence.watcher_count()));
}

http_response json_response(const http_request& req, status s, std::string body)
{
    http_response res{s, req.version()};
    res.set(http::field::server, "corvid-collector");
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

http_response error_response(const http_request& req, status s, std::string_view message)
{
    return json_response(req, s, error_body(message));
}

http_response storage_failure(const http_request& req, const boost::system::error_code& ec)
{
    log::error("{} {}: storage failed: {}", std::string_view(req.method_string()), std::string_view(req.target()),
               ec.message());
    auto res = error_response(req, status::service_unavailable, "storage unavailable");
    if (ec == storage_errc::busy)
        res.set(boost::beast::http::field::retry_after, "1");
    return res;
}

http_response no_content(const http_request& req)
{
    http_response res{status::no_content, req.version()};
    res.keep_alive(req.keep_alive());
    return res;
}

net::awaitable<std::optional<http_response>> server_missing(app& a, const http_request& req, const std::string& id)
{
    auto server = co_await a.store.read([&](storage& s) { return s.find_server(id); });
    if (!server)
        co_return storage_failure(req, server.error());
    if (!*server)
        co_return error_response(req, status::not_found, "no such server");
    co_return std::nullopt;
}

} // namespace corvid::collector
