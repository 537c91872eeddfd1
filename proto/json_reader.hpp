#pragma once
// The JSON reading toolkit behind proto/decode*.cpp: a path for error messages ("metrics.seq"),
// checked readers for each JSON type with range limits, and field tables that reject duplicates
// and walk unknown fields. Internal to proto/; not part of its interface. Pure, no state beyond
// the last error.
#include <cmath>
#include <cstdint>
#include <fmt/format.h>
#include <iterator>
#include <limits>
#include <simdjson.h>
#include <span>
#include <string>
#include <string_view>

#include "common/time_format.hpp"
#include "proto/codec.hpp"

namespace corvid::proto::detail {
namespace od = simdjson::ondemand;

// Protocol limits (PROTOCOL.md, "Limits"). They bound what one frame can make us allocate.
constexpr std::size_t max_secret_bytes = 4096;     // api_key, token
constexpr std::size_t max_name_bytes = 1024;       // identifiers: hostname, device, mount, code, ...
constexpr std::size_t max_text_bytes = 64 * 1024;  // human-readable message
constexpr std::size_t max_cores = 4096;
constexpr std::size_t max_entries = 1024;          // disk_usage, disk_io, network, containers
constexpr std::size_t max_subscribed = 64;         // subscribe.metrics
// Levels of objects and arrays, the root object being 1. The deepest v1 message needs 3; the
// slack leaves room for extensions in unknown fields. Also bounds skip()'s recursion.
constexpr int max_depth = 32;
// Keys of unknown fields are echoed in error messages; keep those messages short.
constexpr std::size_t max_key_in_message = 64;

constexpr double unbounded = std::numeric_limits<double>::infinity();

// Where a value sits in the message, for error messages ("metrics.disk_usage[2].mount").
// A chain of stack frames: nothing is formatted unless decoding fails.
struct path {
    const path* parent = nullptr;
    std::string_view key;
    std::size_t index = 0;
    bool is_element = false; // index, not key, names this value
    int depth = 1;           // root object = 1

    path field(std::string_view k) const { return {this, k, 0, false, depth + 1}; }
    path element(std::size_t i) const { return {this, {}, i, true, depth + 1}; }
};

// Cuts `s` to at most `n` bytes without splitting a UTF-8 sequence.
inline std::string_view clip(std::string_view s, std::size_t n)
{
    if (s.size() <= n)
        return s;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
        --n;
    return s.substr(0, n);
}

inline void render(std::string& out, const path& p)
{
    if (p.parent)
        render(out, *p.parent);
    if (p.is_element) {
        fmt::format_to(std::back_inserter(out), "[{}]", p.index);
        return;
    }
    if (!out.empty())
        out.push_back('.');
    const auto k = clip(p.key, max_key_in_message);
    out.append(k);
    if (k.size() < p.key.size())
        out.append("...");
}

// The bits of a small key table; tables have at most 32 keys.
constexpr std::uint32_t bit(std::size_t i) { return std::uint32_t{1} << i; }

struct key_table {
    std::span<const std::string_view> names;
    std::uint32_t required = 0;
};

class json_reader {
public:
    decode_error error{decode_errc::not_json, {}};

    bool fail(decode_errc code, const path& p, std::string_view what)
    {
        error.code = code;
        error.message.clear();
        render(error.message, p);
        if (!error.message.empty()) // the root object of a frame whose type is not known yet has no name
            error.message.append(": ");
        error.message.append(what);
        return false;
    }

    // A simdjson error while reading the value at `p`. INCORRECT_TYPE only reaches here after
    // type() agreed with what we asked for, so it means a malformed token ("tru", "-").
    bool json_fail(simdjson::error_code e, const path& p)
    {
        switch (e) {
        case simdjson::NUMBER_ERROR:
        case simdjson::NUMBER_OUT_OF_RANGE:
            return fail(decode_errc::invalid_value, p, "number malformed or out of range");
        case simdjson::STRING_ERROR:
            return fail(decode_errc::invalid_value, p, "invalid escape in string");
        default:
            return fail(decode_errc::not_json, p, fmt::format("invalid JSON ({})", simdjson::error_message(e)));
        }
    }

    // Fails with wrong_type unless the value at `p` has JSON type `want`.
    bool expect(od::value& v, const path& p, od::json_type want, std::string_view expected)
    {
        od::json_type t;
        if (auto e = v.type().get(t))
            return json_fail(e, p);
        if (t != want)
            return fail(decode_errc::wrong_type, p, expected);
        return true;
    }

    bool read_string(od::value v, const path& p, std::size_t max_bytes, std::string& out)
    {
        if (!expect(v, p, od::json_type::string, "expected string"))
            return false;
        std::string_view s;
        if (auto e = v.get_string().get(s))
            return json_fail(e, p);
        if (s.size() > max_bytes)
            return fail(decode_errc::invalid_value, p, fmt::format("longer than {} bytes", max_bytes));
        out.assign(s);
        return true;
    }

    bool read_timestamp(od::value v, const path& p, std::int64_t& out)
    {
        if (!expect(v, p, od::json_type::string, "expected ISO 8601 UTC time string"))
            return false;
        std::string_view s;
        if (auto e = v.get_string().get(s))
            return json_fail(e, p);
        const auto ms = parse_iso8601_ms(s);
        if (!ms)
            return fail(decode_errc::invalid_value, p, "expected ISO 8601 UTC time like 2026-01-01T00:00:05.000Z");
        out = *ms;
        return true;
    }

    bool read_bool(od::value v, const path& p, bool& out)
    {
        if (!expect(v, p, od::json_type::boolean, "expected true or false"))
            return false;
        if (auto e = v.get_bool().get(out))
            return json_fail(e, p);
        return true;
    }

    // A finite number in [lo, hi]; integers are accepted too. `expected` names the range.
    bool read_double(od::value v, const path& p, double lo, double hi, std::string_view expected, double& out)
    {
        if (!expect(v, p, od::json_type::number, expected))
            return false;
        double d;
        if (auto e = v.get_double().get(d))
            return json_fail(e, p);
        if (!std::isfinite(d) || d < lo || d > hi)
            return fail(decode_errc::invalid_value, p, expected);
        out = d;
        return true;
    }

    bool read_percent(od::value v, const path& p, double& out)
    {
        return read_double(v, p, 0, 100, "expected number from 0 to 100", out);
    }
    bool read_non_negative(od::value v, const path& p, double& out)
    {
        return read_double(v, p, 0, unbounded, "expected number >= 0", out);
    }

    // An integer in [min, max]. JSON has one number type, so a fraction or an out-of-range value
    // is invalid_value; only a non-number is wrong_type.
    bool read_integer(od::value v, const path& p, std::int64_t min, std::uint64_t max, std::string_view expected,
                      std::uint64_t* as_unsigned, std::int64_t* as_signed)
    {
        if (!expect(v, p, od::json_type::number, expected))
            return false;
        od::number n;
        if (auto e = v.get_number().get(n)) {
            json_fail(e, p);
            if (error.code == decode_errc::invalid_value)
                return fail(decode_errc::invalid_value, p, expected);
            return false;
        }
        switch (n.get_number_type()) {
        case od::number_type::unsigned_integer: // >= 2^63
            if (n.get_uint64() > max || !as_unsigned)
                return fail(decode_errc::invalid_value, p, expected);
            *as_unsigned = n.get_uint64();
            return true;
        case od::number_type::signed_integer: {
            const auto i = n.get_int64();
            if (i < min || (i >= 0 && static_cast<std::uint64_t>(i) > max))
                return fail(decode_errc::invalid_value, p, expected);
            if (as_unsigned)
                *as_unsigned = static_cast<std::uint64_t>(i);
            else
                *as_signed = i;
            return true;
        }
        default:
            return fail(decode_errc::invalid_value, p, expected);
        }
    }

    bool read_uint(od::value v, const path& p, std::uint64_t& out,
                   std::uint64_t max = std::numeric_limits<std::uint64_t>::max())
    {
        return read_integer(v, p, 0, max, "expected unsigned integer", &out, nullptr);
    }

    bool read_int(od::value v, const path& p, std::int64_t& out)
    {
        return read_integer(v, p, std::numeric_limits<std::int64_t>::min(),
                            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()), "expected integer",
                            nullptr, &out);
    }

    // Calls on_element(value, path) for each element; more than max_count is invalid_value.
    template <class F> bool read_array(od::value v, const path& p, std::size_t max_count, F&& on_element)
    {
        if (!expect(v, p, od::json_type::array, "expected array"))
            return false;
        od::array a;
        if (auto e = v.get_array().get(a))
            return json_fail(e, p);
        std::size_t i = 0;
        for (auto item : a) {
            od::value ev;
            if (auto e = item.get(ev))
                return json_fail(e, p);
            if (i == max_count)
                return fail(decode_errc::invalid_value, p, fmt::format("more than {} entries", max_count));
            if (!on_element(ev, p.element(i)))
                return false;
            ++i;
        }
        return true;
    }

    // Calls on_field(index, value, path) for each key of `keys` present; skips (but checks) other
    // keys; a known key twice is invalid_value; an optional field that is null counts as absent.
    template <class F> bool read_fields(od::object obj, const path& p, const key_table& keys, F&& on_field)
    {
        std::uint32_t seen = 0;
        for (auto item : obj) {
            std::string_view key;
            if (auto e = item.unescaped_key().get(key))
                return json_fail(e, p);
            od::value v;
            if (auto e = item.value().get(v))
                return json_fail(e, p);
            std::size_t i = 0;
            while (i < keys.names.size() && keys.names[i] != key)
                ++i;
            if (i == keys.names.size()) {
                if (!skip(v, p.field(key)))
                    return false;
                continue;
            }
            const auto child = p.field(keys.names[i]);
            if (seen & bit(i))
                return fail(decode_errc::invalid_value, child, "duplicate key");
            seen |= bit(i);
            if (!(keys.required & bit(i))) {
                bool null = false;
                od::json_type t;
                if (auto e = v.type().get(t))
                    return json_fail(e, child);
                if (t == od::json_type::null) {
                    if (auto e = v.is_null().get(null); e || !null)
                        return json_fail(e ? e : simdjson::INCORRECT_TYPE, child);
                    continue;
                }
            }
            if (!on_field(i, v, child))
                return false;
        }
        const auto missing = keys.required & ~seen;
        for (std::size_t i = 0; i < keys.names.size(); ++i)
            if (missing & bit(i))
                return fail(decode_errc::missing_field, p.field(keys.names[i]), "missing");
        return true;
    }

    template <class F> bool read_object(od::value v, const path& p, const key_table& keys, F&& on_field)
    {
        if (!expect(v, p, od::json_type::object, "expected object"))
            return false;
        od::object obj;
        if (auto e = v.get_object().get(obj))
            return json_fail(e, p);
        return read_fields(obj, p, keys, std::forward<F>(on_field));
    }

    // Walks a value nobody asked for. On-demand parsing would otherwise skip it unchecked, and we
    // promise that a frame is either valid JSON or an error.
    bool skip(od::value v, const path& p)
    {
        od::json_type t;
        if (auto e = v.type().get(t))
            return json_fail(e, p);
        if ((t == od::json_type::array || t == od::json_type::object) && p.depth > max_depth)
            return fail(decode_errc::not_json, p, "nested too deep");
        switch (t) {
        case od::json_type::array: {
            od::array a;
            if (auto e = v.get_array().get(a))
                return json_fail(e, p);
            std::size_t i = 0;
            for (auto item : a) {
                od::value ev;
                if (auto e = item.get(ev))
                    return json_fail(e, p);
                if (!skip(ev, p.element(i++)))
                    return false;
            }
            return true;
        }
        case od::json_type::object: {
            od::object o;
            if (auto e = v.get_object().get(o))
                return json_fail(e, p);
            for (auto item : o) {
                std::string_view key;
                if (auto e = item.unescaped_key().get(key))
                    return json_fail(e, p);
                od::value fv;
                if (auto e = item.value().get(fv))
                    return json_fail(e, p);
                if (!skip(fv, p.field(key)))
                    return false;
            }
            return true;
        }
        case od::json_type::string: {
            std::string_view s;
            if (auto e = v.get_string().get(s))
                return json_fail(e, p);
            return true;
        }
        case od::json_type::number: {
            // get_double accepts integers of any size; only syntax errors and overflow fail.
            double d;
            if (auto e = v.get_double().get(d))
                return json_fail(e, p);
            return true;
        }
        case od::json_type::boolean: {
            bool b;
            if (auto e = v.get_bool().get(b))
                return json_fail(e, p);
            return true;
        }
        case od::json_type::null: {
            bool null = false;
            if (auto e = v.is_null().get(null); e || !null)
                return json_fail(e ? e : simdjson::INCORRECT_TYPE, p);
            return true;
        }
        }
        return json_fail(simdjson::INCORRECT_TYPE, p);
    }

    // An object that accepts no known fields (ping) still has its unknown fields checked.
    bool read_no_fields(od::object obj, const path& p)
    {
        return read_fields(obj, p, {}, [](std::size_t, od::value, const path&) { return true; });
    }

};

} // namespace corvid::proto::detail
