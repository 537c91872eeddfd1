#include "collector/http/json_body.hpp"

#include <simdjson.h>

namespace corvid::collector {

boost::system::result<std::map<std::string, std::string, std::less<>>, body_error>
read_string_fields(std::string_view body, std::initializer_list<std::string_view> required)
{
    // Bodies are small and bounded by max_body_bytes; the DOM parser validates the whole document,
    // trailing content included.
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(body.data(), body.size(), true).get(root))
        return body_error{"the body is not valid JSON"};
    simdjson::dom::object obj;
    if (root.get_object().get(obj))
        return body_error{"the body must be a JSON object"};
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

} // namespace corvid::collector
