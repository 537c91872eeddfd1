#include "collector/http/json_body.hpp"

#include <fmt/format.h>
#include <simdjson.h>

namespace corvid::collector {
namespace {
// Bodies are small and bounded by max_body_bytes; the DOM parser validates the whole document,
// trailing content included. The object lives in this thread's parser until its next parse.
boost::system::result<simdjson::dom::object, body_error> parse_object(std::string_view body)
{
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(body.data(), body.size(), true).get(root))
        return body_error{"the body is not valid JSON"};
    simdjson::dom::object obj;
    if (root.get_object().get(obj))
        return body_error{"the body must be a JSON object"};
    return obj;
}
} // namespace

boost::system::result<std::map<std::string, std::string, std::less<>>, body_error>
read_string_fields(std::string_view body, std::initializer_list<std::string_view> required)
{
    auto parsed = parse_object(body);
    if (!parsed)
        return parsed.error();
    const auto obj = *parsed;
    std::map<std::string, std::string, std::less<>> out;
    for (auto r : required) {
        simdjson::dom::element value;
        if (obj.at_key(r).get(value))
            return body_error{"field '" + std::string(r) + "' is required"};
        std::string_view text;
        if (value.get_string().get(text))
            return body_error{"field '" + std::string(r) + "' must be a string"};
        out.emplace(std::string(r), std::string(text));
    }
    return out;
}

boost::system::result<std::optional<std::int64_t>, body_error>
read_optional_integer_field(std::string_view body, std::string_view name, std::int64_t lo, std::int64_t hi)
{
    auto parsed = parse_object(body);
    if (!parsed)
        return parsed.error();
    simdjson::dom::element value;
    if (parsed->at_key(name).get(value) || value.is_null())
        return std::optional<std::int64_t>();
    std::int64_t v = 0;
    if (value.get_int64().get(v) || v < lo || v > hi)
        return body_error{fmt::format("field '{}' must be an integer from {} to {}", name, lo, hi)};
    return std::optional<std::int64_t>(v);
}

} // namespace corvid::collector
