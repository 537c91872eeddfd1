#pragma once
// Reads the small JSON request bodies of the REST API ({"username":…,"password":…}, {"name":…}).
// The body must be one JSON object; each named field must be a string; other fields are ignored.
// Pure and thread-safe.
#include <boost/system/result.hpp>
#include <initializer_list>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace corvid::collector {

struct body_error {
    std::string message; // for the {"error":…} response, e.g. "field 'name' must be a string"
};

boost::system::result<std::map<std::string, std::string, std::less<>>, body_error>
read_string_fields(std::string_view body, std::initializer_list<std::string_view> required);

// An optional integer field of the same body object: nullopt when absent or null; an error when it
// is not an integer in [lo, hi].
boost::system::result<std::optional<std::int64_t>, body_error>
read_optional_integer_field(std::string_view body, std::string_view name, std::int64_t lo, std::int64_t hi);

} // namespace corvid::collector
