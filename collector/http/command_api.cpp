#include "collector/http/command_api.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <fmt/format.h>
#include <limits>

#include "collector/commands/command_dispatch.hpp"
#include "collector/http/json_body.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"
#include "common/random.hpp"
#include "common/time_format.hpp"
#include "proto/codec.hpp"

namespace corvid::collector {
namespace http = boost::beast::http;
using status = http::status;

namespace {
constexpr std::size_t max_history = 200;
constexpr std::size_t default_audit_page = 100, max_audit_page = 1000;

void put_optional_int(std::string& out, std::string_view key, const std::optional<std::int64_t>& v)
{
    fmt::format_to(std::back_inserter(out), R"(,"{}":)", key);
    if (v)
        fmt::format_to(std::back_inserter(out), "{}", *v);
    else
        out += "null";
}

void put_string_field(std::string& out, std::string_view key, std::string_view v)
{
    fmt::format_to(std::back_inserter(out), R"(,"{}":)", key);
    append_json_string(out, v);
}

void put_optional_time(std::string& out, std::string_view key, const std::optional<std::int64_t>& ms)
{
    fmt::format_to(std::back_inserter(out), R"(,"{}":)", key);
    if (ms)
        append_json_string(out, format_iso8601_ms(*ms));
    else
        out += "null";
}

void put_optional_string(std::string& out, std::string_view key, const std::optional<std::string>& v)
{
    fmt::format_to(std::back_inserter(out), R"(,"{}":)", key);
    if (v)
        append_json_string(out, *v);
    else
        out += "null";
}

std::string audit_json(const audit_record& a)
{
    std::string out = fmt::format(R"({{"id":{},"at":)", a.id);
    append_json_string(out, format_iso8601_ms(a.at_ms));
    put_string_field(out, "actor", a.actor);
    put_string_field(out, "address", a.address);
    put_string_field(out, "action", a.action);
    put_string_field(out, "server_id", a.server_id);
    put_string_field(out, "command_id", a.command_id);
    put_string_field(out, "detail", a.detail);
    put_optional_string(out, "status", a.status);
    put_optional_int(out, "exit_code", a.exit_code);
    put_optional_int(out, "duration_ms", a.duration_ms);
    put_optional_string(out, "output_sha256", a.output_sha256);
    out += '}';
    return out;
}

class command_request {
public:
    explicit command_request(rest_call& c) : a_(c.a), req_(c.req), route_(c.path), peer_(c.peer), who_(*c.who) {}

    net::awaitable<http_response> post_command();
    net::awaitable<http_response> post_docker();
    net::awaitable<http_response> list_commands();
    net::awaitable<http_response> get_command();
    net::awaitable<http_response> containers();
    net::awaitable<http_response> audit();
    http_response collector_info() const;

private:
    http_response json(status s, std::string body) const { return json_response(req_, s, std::move(body)); }
    http_response error(status s, std::string_view m) const { return error_response(req_, s, m); }
    bool at_least(role r) const { return who_.role >= r; }

    net::awaitable<http_response> dispatch(dispatch_request& d);

    app& a_;
    const http_request& req_;
    const path_params& route_;
    const std::string& peer_;
    const principal& who_;
};

net::awaitable<http_response> command_request::post_command()
{
    auto body = read_shell_command_body(req_.body());
    if (!body)
        co_return error(status::bad_request, body.error().message);
    dispatch_request d;
    d.kind = "shell";
    d.command = std::move(body->command);
    d.timeout_s = body->timeout_s;
    co_return co_await dispatch(d);
}

net::awaitable<http_response> command_request::post_docker()
{
    auto body = read_docker_body(req_.body());
    if (!body)
        co_return error(status::bad_request, body.error().message);
    dispatch_request d;
    d.kind = "docker";
    d.action = std::move(body->action);
    d.container_id = std::move(body->container_id);
    co_return co_await dispatch(d);
}

net::awaitable<http_response> command_request::dispatch(dispatch_request& d)
{
    d.server_id = route_.server_id;
    d.who = who_;
    d.client_address = peer_;
    const auto result = co_await dispatch_command(a_, d);
    switch (result.status) {
    case dispatch_status::accepted: {
        std::string body = R"({"command_id":)";
        append_json_string(body, result.command_id);
        body += '}';
        co_return json(status::accepted, std::move(body));
    }
    case dispatch_status::no_such_server: co_return error(status::not_found, "no such server");
    case dispatch_status::agent_offline: co_return error(status::conflict, "agent offline");
    case dispatch_status::rate_limited: {
        auto res = json(status::too_many_requests,
                        fmt::format(R"({{"error":"too many commands","retry_after":{}}})", result.retry_after_s));
        res.set(http::field::retry_after, std::to_string(result.retry_after_s));
        co_return res;
    }
    case dispatch_status::too_many_in_flight:
        co_return error(status::service_unavailable, "too many commands in flight");
    case dispatch_status::storage_error: break;
    }
    co_return storage_failure(req_, result.storage_error);
}

net::awaitable<http_response> command_request::list_commands()
{
    const std::string id = route_.server_id;
    auto rows = co_await a_.store.read([&](storage& s) { return s.list_commands(id, max_history); });
    if (!rows)
        co_return storage_failure(req_, rows.error());
    std::string body = R"({"commands":[)";
    bool first = true;
    for (const auto& c : *rows) {
        if (!at_least(role::admin) && c.issued_by != who_.username)
            continue; // operators see their own commands; output may hold what only they should see
        if (!first)
            body += ',';
        first = false;
        body += command_json(c, false);
    }
    body += "]}";
    co_return json(status::ok, std::move(body));
}

net::awaitable<http_response> command_request::get_command()
{
    const std::string id = route_.command_id;
    auto found = co_await a_.store.read([&](storage& s) { return s.find_command(id); });
    if (!found)
        co_return storage_failure(req_, found.error());
    // Someone else's command answers as missing: command ids of others stay private.
    if (!*found || ((*found)->issued_by != who_.username && !at_least(role::admin)))
        co_return error(status::not_found, "no such command");
    co_return json(status::ok, command_json(**found, true));
}

net::awaitable<http_response> command_request::containers()
{
    const std::string id = route_.server_id;
    auto missing = co_await server_missing(a_, req_, id);
    if (missing)
        co_return std::move(*missing);
    std::optional<proto::sample_data> latest;
    if (auto live = a_.hub.latest(id))
        latest = live->data();
    else {
        auto row = co_await a_.store.read([&](storage& s) { return s.latest_sample(id); });
        if (row && *row)
            if (auto data = proto::decode_sample_data((*row)->data_json))
                latest = std::move(*data);
    }
    std::string body = R"({"server_id":)";
    append_json_string(body, id);
    if (!latest || !latest->containers) {
        // No sample yet, or the agent does not report Docker (disabled, or its daemon unreachable).
        body += R"(,"timestamp":null,"containers":null})";
        co_return json(status::ok, std::move(body));
    }
    body += R"(,"timestamp":)";
    append_json_string(body, format_iso8601_ms(latest->timestamp_ms));
    // The sample's own encoding of its containers section.
    proto::sample_data only;
    only.timestamp_ms = latest->timestamp_ms;
    only.containers = std::move(latest->containers);
    const auto data = proto::encode_sample_data(only, proto::mask_of(proto::sample_field::containers));
    const auto at = data.find(R"("containers":)");
    body += ',';
    body.append(data, at, data.size() - at - 1);
    body += '}';
    co_return json(status::ok, std::move(body));
}

net::awaitable<http_response> command_request::audit()
{
    auto query = parse_query(req_.target());
    if (!query)
        co_return error(status::bad_request, "malformed query string");
    const auto before = query_int(*query, "before", 1, std::numeric_limits<std::int64_t>::max());
    if (!before)
        co_return error(status::bad_request, "'before' must be an audit entry id");
    const auto limit_param = query_int(*query, "limit", 1, static_cast<std::int64_t>(max_audit_page));
    if (!limit_param)
        co_return error(status::bad_request, fmt::format("'limit' must be 1 to {}", max_audit_page));
    const auto limit = static_cast<std::size_t>(limit_param->value_or(default_audit_page));
    const std::optional<std::int64_t> before_id = *before;
    auto rows = co_await a_.store.read([&](storage& s) { return s.list_audit(before_id, limit); });
    if (!rows)
        co_return storage_failure(req_, rows.error());
    std::string body = R"({"entries":[)";
    for (std::size_t i = 0; i < rows->size(); ++i) {
        if (i)
            body += ',';
        body += audit_json((*rows)[i]);
    }
    body += R"(],"next":)";
    if (rows->size() == limit && !rows->empty())
        body += fmt::format("{}", rows->back().id);
    else
        body += "null";
    body += '}';
    co_return json(status::ok, std::move(body));
}

http_response command_request::collector_info() const
{
    std::string body = R"({"version":)";
    append_json_string(body, CORVID_VERSION);
    body += R"(,"collector_public_key":)";
    append_json_string(body, base64_encode(a_.command_keys.public_key));
    body += '}';
    return json(status::ok, std::move(body));
}
} // namespace

boost::system::result<shell_command_body, body_error> read_shell_command_body(std::string_view body)
{
    auto fields = read_string_fields(body, {"command"});
    if (!fields)
        return fields.error();
    auto timeout = read_optional_integer_field(body, "timeout_s", 1, proto::max_command_timeout_s);
    if (!timeout)
        return timeout.error();
    shell_command_body out;
    out.command = std::move((*fields)["command"]);
    if (out.command.find_first_not_of(" \t\n") == std::string::npos)
        return body_error{"field 'command' is empty"};
    if (out.command.size() > proto::max_command_bytes)
        return body_error{fmt::format("field 'command' is longer than {} bytes", proto::max_command_bytes)};
    if (out.command.find('\0') != std::string::npos)
        return body_error{"field 'command' contains a NUL character"};
    out.timeout_s = static_cast<std::uint32_t>(timeout->value_or(60));
    return out;
}

boost::system::result<docker_body, body_error> read_docker_body(std::string_view body)
{
    auto fields = read_string_fields(body, {"action", "container_id"});
    if (!fields)
        return fields.error();
    docker_body out{std::move((*fields)["action"]), std::move((*fields)["container_id"])};
    if (!proto::is_docker_action(out.action))
        return body_error{"field 'action' must be one of start, stop, restart, pause, unpause, kill, remove"};
    if (!proto::is_container_ref(out.container_id))
        return body_error{"field 'container_id' must be 1-128 characters of A-Z a-z 0-9 _ . -"};
    return out;
}

std::string command_json(const command_record& c, bool with_output)
{
    std::string out = R"({"command_id":)";
    append_json_string(out, c.id);
    put_string_field(out, "server_id", c.server_id);
    put_string_field(out, "kind", c.kind);
    put_string_field(out, "command", c.command);
    put_string_field(out, "issued_by", c.issued_by);
    put_string_field(out, "status", c.status);
    put_optional_int(out, "exit_code", c.exit_code);
    if (with_output)
        put_string_field(out, "output", c.output);
    out += c.truncated ? R"(,"truncated":true)" : R"(,"truncated":false)";
    put_optional_int(out, "duration_ms", c.duration_ms);
    put_optional_string(out, "error", c.error);
    out += R"(,"output_sha256":)";
    if (c.output_sha256.empty())
        out += "null";
    else
        append_json_string(out, c.output_sha256);
    put_optional_time(out, "created_at", c.created_at_ms);
    put_optional_time(out, "finished_at", c.finished_at_ms);
    out += '}';
    return out;
}

net::awaitable<http_response> post_command(rest_call& c)
{
    return handle_with<command_request, &command_request::post_command>(c);
}

net::awaitable<http_response> post_docker(rest_call& c)
{
    return handle_with<command_request, &command_request::post_docker>(c);
}

net::awaitable<http_response> list_commands(rest_call& c)
{
    return handle_with<command_request, &command_request::list_commands>(c);
}

net::awaitable<http_response> get_command(rest_call& c)
{
    return handle_with<command_request, &command_request::get_command>(c);
}

net::awaitable<http_response> get_containers(rest_call& c)
{
    return handle_with<command_request, &command_request::containers>(c);
}

net::awaitable<http_response> get_audit(rest_call& c)
{
    return handle_with<command_request, &command_request::audit>(c);
}

net::awaitable<http_response> get_collector_info(rest_call& c)
{
    command_request r(c);
    co_return r.collector_info();
}

} // namespace corvid::collector
