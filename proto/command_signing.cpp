#include "proto/command_signing.hpp"

#include <fmt/format.h>
#include <iterator>

#include "common/time_format.hpp"

namespace corvid::proto {
namespace {
// "<name> <byte length> <value>\n": a value may hold any byte, newlines included; its length
// says where it ends.
void put_field(std::string& out, std::string_view name, std::string_view value)
{
    fmt::format_to(std::back_inserter(out), "{} {} ", name, value.size());
    out.append(value);
    out.push_back('\n');
}

std::string payload(std::string_view kind, std::string_view server_id, std::string_view command_id,
                    std::string_view issued_by, std::int64_t issued_at, std::int64_t expires_at)
{
    std::string out = "corvid-signed-command-v1\n";
    put_field(out, "kind", kind);
    put_field(out, "server_id", server_id);
    put_field(out, "command_id", command_id);
    put_field(out, "issued_by", issued_by);
    put_field(out, "issued_at", format_iso8601_ms(issued_at));
    put_field(out, "expires_at", format_iso8601_ms(expires_at));
    return out;
}
} // namespace

std::string signing_payload(const command& c)
{
    std::string out = payload("command", c.server_id, c.command_id, c.issued_by, c.issued_at_ms, c.expires_at_ms);
    put_field(out, "command", c.command);
    put_field(out, "timeout_s", std::to_string(c.timeout_s));
    return out;
}

std::string signing_payload(const docker_command& c)
{
    std::string out =
        payload("docker_command", c.server_id, c.command_id, c.issued_by, c.issued_at_ms, c.expires_at_ms);
    put_field(out, "action", c.action);
    put_field(out, "container_id", c.container_id);
    return out;
}

} // namespace corvid::proto
