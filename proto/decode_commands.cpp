// Decoders of the command messages. Shapes and limits: PROTOCOL.md section 10. Values are checked
// here only for form (types, lengths, ranges); whether a command may run is the agent's policy
// and signature check, whether a result belongs to a command is the collector's.
#include "proto/decode_commands.hpp"

#include <algorithm>

namespace corvid::proto::detail {
namespace {
constexpr std::size_t max_signature_bytes = 256; // base64 of 64 bytes is 88
constexpr std::size_t max_response_output_bytes = max_frame_bytes;

bool read_command_id(json_reader& d, od::value v, const path& p, std::string& out)
{
    return d.read_string(v, p, max_name_bytes, out)
           && (!out.empty() || d.fail(decode_errc::invalid_value, p, "must not be empty"));
}

// The signed tail shared by command and docker_command, at indexes first..first+4 of the table.
bool read_signed_field(json_reader& d, std::size_t i, od::value v, const path& p, std::string& server_id,
                       std::string& issued_by, std::int64_t& issued_at, std::int64_t& expires_at,
                       std::string& signature)
{
    switch (i) {
    case 0: return d.read_string(v, p, max_name_bytes, server_id);
    case 1: return d.read_string(v, p, max_name_bytes, issued_by);
    case 2: return d.read_timestamp(v, p, issued_at);
    case 3: return d.read_timestamp(v, p, expires_at);
    default: return d.read_string(v, p, max_signature_bytes, signature);
    }
}
} // namespace

bool read_command(json_reader& d, od::object root, command& m)
{
    static constexpr std::string_view names[] = {"command_id", "command",   "timeout_s",  "server_id",
                                                 "issued_by",  "issued_at", "expires_at", "signature"};
    return d.read_fields(root, {nullptr, "command"}, {names, 0xff}, [&](std::size_t i, od::value v, const path& p) {
        switch (i) {
        case 0: return read_command_id(d, v, p, m.command_id);
        case 1:
            return d.read_string(v, p, max_command_bytes, m.command)
                   && (!m.command.empty() || d.fail(decode_errc::invalid_value, p, "must not be empty"));
        case 2: {
            std::uint64_t t = 0;
            if (!d.read_uint(v, p, t, max_command_timeout_s))
                return false;
            if (t == 0)
                return d.fail(decode_errc::invalid_value, p, "must be at least 1");
            m.timeout_s = static_cast<std::uint32_t>(t);
            return true;
        }
        default:
            return read_signed_field(d, i - 3, v, p, m.server_id, m.issued_by, m.issued_at_ms, m.expires_at_ms,
                                     m.signature);
        }
    });
}

bool read_docker_command(json_reader& d, od::object root, docker_command& m)
{
    static constexpr std::string_view names[] = {"command_id", "action",    "container_id", "server_id",
                                                 "issued_by",  "issued_at", "expires_at",   "signature"};
    return d.read_fields(root, {nullptr, "docker_command"}, {names, 0xff},
                         [&](std::size_t i, od::value v, const path& p) {
                             switch (i) {
                             case 0: return read_command_id(d, v, p, m.command_id);
                             case 1:
                                 return d.read_string(v, p, max_name_bytes, m.action)
                                        && (is_docker_action(m.action)
                                            || d.fail(decode_errc::invalid_value, p, "not a container action"));
                             case 2:
                                 return d.read_string(v, p, max_name_bytes, m.container_id)
                                        && (is_container_ref(m.container_id)
                                            || d.fail(decode_errc::invalid_value, p,
                                                      "expected 1-128 characters of A-Z a-z 0-9 _ . -"));
                             default:
                                 return read_signed_field(d, i - 3, v, p, m.server_id, m.issued_by, m.issued_at_ms,
                                                          m.expires_at_ms, m.signature);
                             }
                         });
}

bool read_command_output(json_reader& d, od::object root, command_output& m)
{
    static constexpr std::string_view names[] = {"command_id", "stream", "data"};
    return d.read_fields(root, {nullptr, "command_output"}, {names, 0b111},
                         [&](std::size_t i, od::value v, const path& p) {
                             switch (i) {
                             case 0: return read_command_id(d, v, p, m.command_id);
                             case 1:
                                 return d.read_string(v, p, max_name_bytes, m.stream)
                                        && (m.stream == "stdout" || m.stream == "stderr"
                                            || d.fail(decode_errc::invalid_value, p, "expected \"stdout\" or \"stderr\""));
                             default: return d.read_string(v, p, max_output_chunk_bytes, m.data);
                             }
                         });
}

bool read_command_response(json_reader& d, od::object root, command_response& m)
{
    static constexpr std::string_view names[] = {"command_id", "output",    "exit_code", "duration_ms",
                                                 "truncated",  "timed_out", "error",     "message"};
    return d.read_fields(root, {nullptr, "command_response"}, {names, 0b1101},
                         [&](std::size_t i, od::value v, const path& p) {
                             switch (i) {
                             case 0: return read_command_id(d, v, p, m.command_id);
                             case 1: return d.read_string(v, p, max_response_output_bytes, m.output);
                             case 2: return d.read_int(v, p, m.exit_code)
                                            && ((m.exit_code >= -1 && m.exit_code <= 255)
                                                || d.fail(decode_errc::invalid_value, p, "expected -1 to 255"));
                             case 3: return d.read_int(v, p, m.duration_ms)
                                            && (m.duration_ms >= 0
                                                || d.fail(decode_errc::invalid_value, p, "must not be negative"));
                             case 4: return d.read_bool(v, p, m.truncated);
                             case 5: return d.read_bool(v, p, m.timed_out);
                             case 6: return d.read_string(v, p, max_name_bytes, m.error.emplace());
                             default: return d.read_string(v, p, max_text_bytes, m.message.emplace());
                             }
                         });
}

bool read_docker_response(json_reader& d, od::object root, docker_response& m)
{
    static constexpr std::string_view names[] = {"command_id", "success", "message", "error"};
    return d.read_fields(root, {nullptr, "docker_response"}, {names, 0b111},
                         [&](std::size_t i, od::value v, const path& p) {
                             switch (i) {
                             case 0: return read_command_id(d, v, p, m.command_id);
                             case 1: return d.read_bool(v, p, m.success);
                             case 2: return d.read_string(v, p, max_text_bytes, m.message);
                             default: return d.read_string(v, p, max_name_bytes, m.error.emplace());
                             }
                         });
}

} // namespace corvid::proto::detail

namespace corvid::proto {

bool is_docker_action(std::string_view action)
{
    return std::find(std::begin(docker_actions), std::end(docker_actions), action) != std::end(docker_actions);
}

bool is_container_ref(std::string_view id)
{
    if (id.empty() || id.size() > 128 || id == "." || id == "..")
        return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.'
               || c == '-';
    });
}

} // namespace corvid::proto
