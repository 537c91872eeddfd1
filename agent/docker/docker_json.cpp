// Docker Engine API answers -> typed values (see docker_json.hpp). Every simdjson error is either
// INCORRECT_TYPE on a value we asked for (that value is then absent and reading goes on) or a
// malformed document (the whole parse fails with a message).
#include "agent/docker/docker_json.hpp"

#include <fmt/format.h>
#include <simdjson.h>
#include <stdexcept>

#include "agent/docker/docker_api.hpp"

namespace corvid::agent::docker {
namespace od = simdjson::ondemand;

void throw_exception_from_error(const json_error& e, const boost::source_location&)
{
    throw std::runtime_error(e.message);
}

namespace {

// Cuts `s` to at most `n` bytes without splitting a UTF-8 sequence.
std::string_view clip(std::string_view s, std::size_t n)
{
    if (s.size() <= n)
        return s;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
        --n;
    return s.substr(0, n);
}

json_error bad_json(simdjson::error_code e)
{
    return json_error{fmt::format("invalid JSON ({})", simdjson::error_message(e))};
}

// A value we read but whose type was not the one we wanted: it stays absent, parsing goes on.
bool soft(simdjson::error_code e) { return e == simdjson::SUCCESS || e == simdjson::INCORRECT_TYPE; }

// One parsed document: owns the padded copy and the parser the document points into. A parser
// per call (not a cached one) so a large answer does not leave its buffers allocated.
class document {
public:
    explicit document(std::string_view json) : padded_(json) {}
    simdjson::error_code open() { return parser_.iterate(padded_).get(doc_); }
    od::document& doc() { return doc_; }

private:
    simdjson::padded_string padded_;
    od::parser parser_;
    od::document doc_;
};

// INCORRECT_TYPE unless `v` is a non-negative integer that fits 64 bits.
simdjson::error_code read_uint(od::value v, std::optional<std::uint64_t>& out)
{
    od::json_type t;
    if (auto e = v.type().get(t))
        return e;
    if (t != od::json_type::number)
        return simdjson::INCORRECT_TYPE;
    od::number_type nt;
    if (auto e = v.get_number_type().get(nt))
        return e;
    if (nt != od::number_type::unsigned_integer && nt != od::number_type::signed_integer)
        return simdjson::INCORRECT_TYPE;
    if (nt == od::number_type::signed_integer) {
        std::int64_t i = 0;
        if (auto e = v.get_int64().get(i))
            return e;
        if (i < 0)
            return simdjson::INCORRECT_TYPE;
        out = static_cast<std::uint64_t>(i);
        return simdjson::SUCCESS;
    }
    std::uint64_t u = 0;
    if (auto e = v.get_uint64().get(u))
        return e;
    out = u;
    return simdjson::SUCCESS;
}

simdjson::error_code read_string(od::value v, std::size_t max_bytes, std::string& out)
{
    od::json_type t;
    if (auto e = v.type().get(t))
        return e;
    if (t != od::json_type::string)
        return simdjson::INCORRECT_TYPE;
    std::string_view s;
    if (auto e = v.get_string().get(s))
        return e;
    out.assign(clip(s, max_bytes));
    return simdjson::SUCCESS;
}

// Calls f(key, value) for each field of `obj`; stops at the first hard error.
template <class F> simdjson::error_code each_field(od::object obj, F& f)
{
    for (auto item : obj) {
        std::string_view key;
        if (auto e = item.unescaped_key().get(key))
            return e;
        od::value fv;
        if (auto e = item.value().get(fv))
            return e;
        if (auto e = f(key, fv); !soft(e))
            return e;
    }
    return simdjson::SUCCESS;
}

// Calls f(key, value) for each field of the object `v`; INCORRECT_TYPE if `v` is no object.
template <class F> simdjson::error_code for_each_field(od::value v, F&& f)
{
    od::json_type t;
    if (auto e = v.type().get(t))
        return e;
    if (t != od::json_type::object)
        return simdjson::INCORRECT_TYPE;
    od::object obj;
    if (auto e = v.get_object().get(obj))
        return e;
    return each_field(obj, f);
}

// Same for the root of a document, which on-demand keeps apart from values.
template <class F> simdjson::error_code for_each_root_field(od::document& doc, F&& f, bool& not_object)
{
    od::json_type t;
    if (auto e = doc.type().get(t))
        return e;
    if (t != od::json_type::object) {
        not_object = true;
        return simdjson::SUCCESS;
    }
    od::object obj;
    if (auto e = doc.get_object().get(obj))
        return e;
    return each_field(obj, f);
}

// "Names": ["/web", ...] -> "web" (the first name; Docker puts the container's own name first).
simdjson::error_code read_first_name(od::value v, std::string& out)
{
    od::json_type t;
    if (auto e = v.type().get(t))
        return e;
    if (t != od::json_type::array)
        return simdjson::INCORRECT_TYPE;
    od::array arr;
    if (auto e = v.get_array().get(arr))
        return e;
    bool first = true;
    for (auto item : arr) {
        od::value el;
        if (auto e = item.get(el))
            return e;
        if (!first)
            continue; // skipped by the iterator
        first = false;
        std::string name;
        if (auto e = read_string(el, max_name_bytes + 1, name); !soft(e))
            return e;
        if (!name.empty() && name.front() == '/')
            name.erase(0, 1);
        out.assign(clip(name, max_name_bytes));
    }
    return simdjson::SUCCESS;
}

simdjson::error_code read_entry(od::value v, container_entry& c)
{
    return for_each_field(v, [&](std::string_view key, od::value fv) -> simdjson::error_code {
        if (key == "Id")
            return read_string(fv, max_id_bytes + 1, c.id); // one over: an overlong id fails validation
        if (key == "Names")
            return read_first_name(fv, c.name);
        if (key == "Image")
            return read_string(fv, max_image_bytes, c.image);
        if (key == "State")
            return read_string(fv, max_state_bytes, c.state);
        if (key == "Status")
            return read_string(fv, max_status_bytes, c.status);
        return simdjson::SUCCESS;
    });
}

std::optional<std::uint64_t> checked_add(std::optional<std::uint64_t> a, std::optional<std::uint64_t> b)
{
    if (!a || !b || *a > UINT64_MAX - *b)
        return std::nullopt;
    return *a + *b;
}

} // namespace

json_result<container_list> parse_container_list(std::string_view json)
{
    document d(json);
    if (auto e = d.open())
        return bad_json(e);
    od::json_type t;
    if (auto e = d.doc().type().get(t))
        return bad_json(e);
    if (t != od::json_type::array)
        return json_error{"expected a JSON array of containers"};
    od::array arr;
    if (auto e = d.doc().get_array().get(arr))
        return bad_json(e);
    container_list out;
    for (auto item : arr) {
        od::value v;
        if (auto e = item.get(v))
            return bad_json(e);
        if (out.containers.size() == max_containers) {
            out.truncated = true;
            break;
        }
        container_entry c;
        if (auto e = read_entry(v, c); !soft(e))
            return bad_json(e);
        // Without a usable id nothing can be done with the entry (and its id would be refused
        // by run_action anyway).
        if (valid_container_id(c.id))
            out.containers.push_back(std::move(c));
    }
    return out;
}

json_result<stats_reading> parse_stats(std::string_view json)
{
    document d(json);
    if (auto e = d.open())
        return bad_json(e);
    stats_reading r;
    std::optional<std::uint64_t> usage, inactive_v1, inactive_v2;
    std::optional<std::uint32_t> percpu_count;
    bool has_networks = false, networks_complete = true;
    std::uint64_t rx = 0, tx = 0;

    auto cpu_usage = [&](std::string_view key, od::value v) -> simdjson::error_code {
        if (key == "total_usage")
            return read_uint(v, r.cpu_total_ns);
        if (key == "percpu_usage") {
            od::array arr;
            if (auto e = v.get_array().get(arr))
                return e;
            std::size_t n = 0;
            if (auto e = arr.count_elements().get(n))
                return e;
            if (n > 0 && n < 65536)
                percpu_count = static_cast<std::uint32_t>(n);
        }
        return simdjson::SUCCESS;
    };
    auto cpu_stats = [&](std::string_view key, od::value v) -> simdjson::error_code {
        if (key == "cpu_usage")
            return for_each_field(v, cpu_usage);
        if (key == "system_cpu_usage")
            return read_uint(v, r.system_cpu_ns);
        if (key == "online_cpus") {
            std::optional<std::uint64_t> n;
            auto e = read_uint(v, n);
            if (n && *n > 0 && *n < 65536)
                r.online_cpus = static_cast<std::uint32_t>(*n);
            return e;
        }
        return simdjson::SUCCESS;
    };
    auto memory_detail = [&](std::string_view key, od::value v) -> simdjson::error_code {
        if (key == "total_inactive_file")
            return read_uint(v, inactive_v1);
        if (key == "inactive_file")
            return read_uint(v, inactive_v2);
        return simdjson::SUCCESS;
    };
    auto memory_stats = [&](std::string_view key, od::value v) -> simdjson::error_code {
        if (key == "usage")
            return read_uint(v, usage);
        if (key == "limit")
            return read_uint(v, r.memory_limit_bytes);
        if (key == "stats")
            return for_each_field(v, memory_detail);
        return simdjson::SUCCESS;
    };
    auto interface = [&](std::string_view, od::value v) -> simdjson::error_code {
        std::optional<std::uint64_t> irx, itx;
        auto e = for_each_field(v, [&](std::string_view key, od::value cv) -> simdjson::error_code {
            if (key == "rx_bytes")
                return read_uint(cv, irx);
            if (key == "tx_bytes")
                return read_uint(cv, itx);
            return simdjson::SUCCESS;
        });
        const auto srx = checked_add(rx, irx), stx = checked_add(tx, itx);
        if (srx && stx) {
            rx = *srx;
            tx = *stx;
        } else {
            networks_complete = false; // a partial sum would make a bogus rate
        }
        return e;
    };
    bool not_object = false;
    auto e = for_each_root_field(d.doc(), [&](std::string_view key, od::value v) -> simdjson::error_code {
        if (key == "cpu_stats")
            return for_each_field(v, cpu_stats);
        if (key == "memory_stats")
            return for_each_field(v, memory_stats);
        if (key == "networks") {
            auto ne = for_each_field(v, interface);
            has_networks = ne == simdjson::SUCCESS;
            return ne;
        }
        return simdjson::SUCCESS;
    }, not_object);
    if (e)
        return bad_json(e);
    if (not_object)
        return json_error{"expected a JSON object of stats"};

    if (!r.online_cpus)
        r.online_cpus = percpu_count;
    if (usage) {
        if (inactive_v1 && *inactive_v1 < *usage)
            r.memory_bytes = *usage - *inactive_v1;
        else if (inactive_v2 && *inactive_v2 < *usage)
            r.memory_bytes = *usage - *inactive_v2;
        else
            r.memory_bytes = usage;
    }
    if (has_networks && networks_complete) {
        r.rx_bytes = rx;
        r.tx_bytes = tx;
    }
    return r;
}

json_result<std::string> parse_version_api(std::string_view json)
{
    document d(json);
    if (auto e = d.open())
        return bad_json(e);
    std::string version;
    bool not_object = false;
    auto e = for_each_root_field(d.doc(), [&](std::string_view key, od::value v) -> simdjson::error_code {
        if (key == "ApiVersion")
            return read_string(v, 32, version);
        return simdjson::SUCCESS;
    }, not_object);
    if (e)
        return bad_json(e);
    if (not_object || version.empty())
        return json_error{"no ApiVersion in /version"};
    return json_result<std::string>(boost::system::in_place_value, std::move(version));
}

std::optional<error_body> parse_error_body(std::string_view json)
{
    document d(json);
    if (d.open())
        return std::nullopt;
    error_body b;
    bool not_object = false;
    auto e = for_each_root_field(d.doc(), [&](std::string_view key, od::value v) -> simdjson::error_code {
        if (key == "message")
            return read_string(v, 4096, b.message);
        if (key == "cause")
            return read_string(v, 256, b.cause);
        return simdjson::SUCCESS;
    }, not_object);
    if (e || not_object || b.message.empty())
        return std::nullopt;
    return b;
}

} // namespace corvid::agent::docker
