#include "collector/names.hpp"

#include <fmt/format.h>

#include "common/json_text.hpp"

namespace corvid::collector {
namespace {

// C0 (U+0000-U+001F), DEL (U+007F) and C1 (U+0080-U+009F, encoded C2 80 to C2 9F), given one
// well-formed UTF-8 sequence.
bool is_control(std::string_view seq)
{
    const auto b0 = static_cast<unsigned char>(seq[0]);
    if (seq.size() == 1)
        return b0 < 0x20 || b0 == 0x7F;
    return seq.size() == 2 && b0 == 0xC2 && static_cast<unsigned char>(seq[1]) <= 0x9F;
}

} // namespace

// User names appear in URLs, logs and tokens: keep them to a plain, unambiguous alphabet.
std::optional<std::string> check_user_name(std::string_view v)
{
    if (v.empty() || v.size() > max_user_name)
        return fmt::format("a user name has 1 to {} characters", max_user_name);
    for (const char c : v) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '_' || c == '-';
        if (!ok)
            return fmt::format("user name \"{}\" may hold only letters, digits, '.', '_' and '-'", v);
    }
    return std::nullopt;
}

// Server names are labels for people: any printable UTF-8, but no control characters (they would
// corrupt log lines and terminals) and no invalid UTF-8 (the name goes into JSON).
std::optional<std::string> check_server_name(std::string_view v)
{
    auto bad = [] { return fmt::format("server name must be 1 to {} printable UTF-8 characters", max_server_name); };
    std::size_t chars = 0;
    for (std::size_t i = 0; i < v.size(); ++chars) {
        // 0 for overlong forms, surrogates, code points above U+10FFFF and truncated sequences.
        const std::size_t len = utf8_sequence_length(v, i);
        if (len == 0 || is_control(v.substr(i, len)))
            return bad();
        i += len;
    }
    if (chars == 0 || chars > max_server_name)
        return bad();
    if (v.front() == ' ' || v.back() == ' ')
        return "server name must not start or end with a space";
    return std::nullopt;
}

std::string server_created_json(std::string_view id, std::string_view name, std::string_view api_key,
                                std::string_view collector_public_key)
{
    std::string out = R"({"id":)";
    append_json_string(out, id);
    out += R"(,"name":)";
    append_json_string(out, name);
    out += R"(,"api_key":)";
    append_json_string(out, api_key);
    out += R"(,"collector_public_key":)";
    append_json_string(out, collector_public_key);
    out += '}';
    return out;
}

} // namespace corvid::collector
