// Decoders of wire protocol v1 (proto/PROTOCOL.md): simdjson on-demand into messages.hpp.
// Input is untrusted, so every value read is type-checked, range-checked and bounded, and every
// value skipped (unknown fields) is still walked, so that malformed or absurdly nested JSON is an
// error wherever it hides. Pure functions; each thread uses its own thread_local parser.
#include "proto/codec.hpp"

#include <cmath>
#include <fmt/format.h>
#include <iterator>
#include <limits>
#include <optional>
#include <simdjson.h>
#include <span>
#include <string>
#include <utility>

#include "common/time_format.hpp"

namespace corvid::proto {
namespace {
namespace od = simdjson::ondemand;

// Protocol limits (PROTOCOL.md, "Limits"). They bound what one frame can make us allocate.
constexpr std::size_t max_secret_bytes = 4096;     // api_key, token
constexpr std::size_t max_name_bytes = 1024;       // identifiers: hostname, device, mount, code, ...
constexpr std::size_t max_text_bytes = 64 * 1024;  // human-readable message
constexpr std::size_t max_cores = 4096;
constexpr std::size_t max_entries = 1024;          // disk_usage, disk_io, network
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
std::string_view clip(std::string_view s, std::size_t n)
{
    if (s.size() <= n)
        return s;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
        --n;
    return s.substr(0, n);
}

void render(std::string& out, const path& p)
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

class decoder {
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

    // ---- metrics sections -------------------------------------------------------------------

    bool read_cpu(od::value v, const path& p, cpu_stats& out)
    {
        static constexpr std::string_view names[] = {"user", "system", "iowait", "steal", "cores"};
        return read_object(v, p, {names, 0b11111}, [&](std::size_t i, od::value fv, const path& fp) {
            switch (i) {
            case 0: return read_percent(fv, fp, out.user);
            case 1: return read_percent(fv, fp, out.system);
            case 2: return read_percent(fv, fp, out.iowait);
            case 3: return read_percent(fv, fp, out.steal);
            default:
                return read_array(fv, fp, max_cores, [&](od::value ev, const path& ep) {
                    return read_percent(ev, ep, out.cores.emplace_back());
                });
            }
        });
    }

    bool read_memory(od::value v, const path& p, memory_stats& out)
    {
        static constexpr std::string_view names[] = {"total_bytes", "used_bytes", "available_bytes",
                                                     "swap_total_bytes", "swap_used_bytes"};
        std::uint64_t* const targets[] = {&out.total_bytes, &out.used_bytes, &out.available_bytes,
                                          &out.swap_total_bytes, &out.swap_used_bytes};
        return read_object(v, p, {names, 0b11111}, [&](std::size_t i, od::value fv, const path& fp) {
            return read_uint(fv, fp, *targets[i]);
        });
    }

    bool read_disk_usage(od::value v, const path& p, disk_usage& out)
    {
        static constexpr std::string_view names[] = {"mount", "device", "fs", "total_bytes", "used_bytes", "percent"};
        return read_object(v, p, {names, 0b111111}, [&](std::size_t i, od::value fv, const path& fp) {
            switch (i) {
            case 0: return read_string(fv, fp, max_name_bytes, out.mount);
            case 1: return read_string(fv, fp, max_name_bytes, out.device);
            case 2: return read_string(fv, fp, max_name_bytes, out.fs);
            case 3: return read_uint(fv, fp, out.total_bytes);
            case 4: return read_uint(fv, fp, out.used_bytes);
            default: return read_percent(fv, fp, out.percent);
            }
        });
    }

    bool read_disk_io(od::value v, const path& p, disk_io& out)
    {
        static constexpr std::string_view names[] = {"device", "read_bytes_per_s", "write_bytes_per_s"};
        return read_object(v, p, {names, 0b111}, [&](std::size_t i, od::value fv, const path& fp) {
            switch (i) {
            case 0: return read_string(fv, fp, max_name_bytes, out.device);
            case 1: return read_non_negative(fv, fp, out.read_bytes_per_s);
            default: return read_non_negative(fv, fp, out.write_bytes_per_s);
            }
        });
    }

    bool read_network(od::value v, const path& p, network_interface& out)
    {
        static constexpr std::string_view names[] = {"interface", "rx_bytes_per_s", "tx_bytes_per_s",
                                                     "rx_bytes_total", "tx_bytes_total"};
        return read_object(v, p, {names, 0b11111}, [&](std::size_t i, od::value fv, const path& fp) {
            switch (i) {
            case 0: return read_string(fv, fp, max_name_bytes, out.interface);
            case 1: return read_non_negative(fv, fp, out.rx_bytes_per_s);
            case 2: return read_non_negative(fv, fp, out.tx_bytes_per_s);
            case 3: return read_uint(fv, fp, out.rx_bytes_total);
            default: return read_uint(fv, fp, out.tx_bytes_total);
            }
        });
    }

    template <class T, class Read>
    bool read_entries(od::value v, const path& p, std::vector<T>& out, Read read_one)
    {
        return read_array(v, p, max_entries, [&](od::value ev, const path& ep) {
            return (this->*read_one)(ev, ep, out.emplace_back());
        });
    }

    // Field `i` of sample_keys below.
    bool read_sample_field(std::size_t i, od::value v, const path& p, sample_data& s)
    {
        switch (i) {
        case 0: return read_timestamp(v, p, s.timestamp_ms);
        case 1: return read_percent(v, p, s.cpu_percent.emplace());
        case 2: return read_percent(v, p, s.memory_percent.emplace());
        case 3: {
            auto& load = s.load.emplace();
            std::size_t n = 0;
            if (!read_array(v, p, load.size(), [&](od::value ev, const path& ep) {
                    return read_non_negative(ev, ep, load[n++]);
                }))
                return false;
            if (n != load.size())
                return fail(decode_errc::invalid_value, p, "expected 3 numbers (1, 5 and 15 minutes)");
            return true;
        }
        case 4: return read_uint(v, p, s.uptime_s.emplace());
        case 5: return read_cpu(v, p, s.cpu.emplace());
        case 6: return read_memory(v, p, s.memory.emplace());
        case 7: return read_entries(v, p, s.disk_usage, &decoder::read_disk_usage);
        case 8: return read_entries(v, p, s.disk_io, &decoder::read_disk_io);
        default: return read_entries(v, p, s.network, &decoder::read_network);
        }
    }
};

// The sample fields, in wire order. metrics_keys is the same list behind server_id and seq.
constexpr std::string_view sample_keys[] = {"timestamp", "cpu_percent", "memory_percent", "load", "uptime_s",
                                            "cpu",       "memory",      "disk_usage",     "disk_io", "network"};
constexpr std::string_view metrics_keys[] = {"server_id", "seq",   "timestamp", "cpu_percent", "memory_percent",
                                             "load",      "uptime_s", "cpu",    "memory",      "disk_usage",
                                             "disk_io",   "network"};
constexpr std::size_t metrics_own_keys = 2;
static_assert(std::size(sample_keys) == static_cast<std::size_t>(sample_field::count_) + 1);
static_assert(std::size(metrics_keys) == std::size(sample_keys) + metrics_own_keys);

// ---- framing: size, root object, trailing content, "type" ------------------------------------

enum class msg_type { auth, auth_success, metrics, ack, ping, pong, error, subscribe, history, status };

constexpr std::pair<std::string_view, msg_type> v1_types[] = {
    {"auth", msg_type::auth},   {"auth_success", msg_type::auth_success}, {"metrics", msg_type::metrics},
    {"ack", msg_type::ack},     {"ping", msg_type::ping},                 {"pong", msg_type::pong},
    {"error", msg_type::error}, {"subscribe", msg_type::subscribe},       {"history", msg_type::history},
    {"status", msg_type::status},
};

decode_error make_error(decode_errc code, std::string message) { return {code, std::move(message)}; }

// simdjson refuses `{...} x` as an unclosed object before we can see the object end. This scan
// (only run on that error path) tells trailing content apart from a truncated document.
bool object_closes_early(std::string_view json)
{
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < json.size(); ++i) {
        const char c = json[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"')
            in_string = true;
        else if (c == '{' || c == '[')
            ++depth;
        else if ((c == '}' || c == ']') && --depth == 0)
            return json.find_first_not_of(" \t\r\n", i + 1) != std::string_view::npos;
    }
    return false;
}

// One parsed frame. Owns the padded copy the document points into; the parser is per thread.
class frame {
public:
    explicit frame(std::string_view json) : json_(json) {}

    // Parses and positions on the root object. Returns an error for oversize, non-JSON, non-object.
    std::optional<decode_error> open(od::object& root)
    {
        if (json_.size() > max_frame_bytes)
            return make_error(decode_errc::not_json, fmt::format("message of {} bytes exceeds the limit of {} bytes",
                                                                 json_.size(), max_frame_bytes));
        thread_local od::parser parser{max_frame_bytes};
        if (!opened_) {
            padded_ = simdjson::padded_string(json_);
            if (auto e = parser.iterate(padded_).get(doc_))
                return make_error(decode_errc::not_json, fmt::format("invalid JSON ({})", simdjson::error_message(e)));
            opened_ = true;
        } else {
            doc_.rewind();
        }
        od::json_type t;
        if (auto e = doc_.type().get(t))
            return make_error(decode_errc::not_json, fmt::format("invalid JSON ({})", simdjson::error_message(e)));
        if (t != od::json_type::object)
            return make_error(decode_errc::not_object, "expected a JSON object");
        if (auto e = doc_.get_object().get(root)) {
            if (e == simdjson::INCOMPLETE_ARRAY_OR_OBJECT && object_closes_early(json_))
                return make_error(decode_errc::trailing_content, "content after the JSON object");
            return make_error(decode_errc::not_json, fmt::format("invalid JSON ({})", simdjson::error_message(e)));
        }
        return std::nullopt;
    }

    // After the root object has been read to its end: anything but whitespace left is an error.
    std::optional<decode_error> check_end()
    {
        if (!doc_.current_location().error())
            return make_error(decode_errc::trailing_content, "content after the JSON object");
        return std::nullopt;
    }

private:
    std::string_view json_;
    simdjson::padded_string padded_;
    od::document doc_;
    bool opened_ = false;
};

// First pass: the "type" string, wherever it is in the object. Other values are skipped here
// and checked by the second pass.
decode_result<msg_type> read_type(od::object root)
{
    decoder d;
    const path frame_root{nullptr, ""};
    const path p = frame_root.field("type");
    std::optional<std::string> type;
    for (auto item : root) {
        std::string_view key;
        if (auto e = item.unescaped_key().get(key)) {
            d.json_fail(e, frame_root);
            return d.error;
        }
        if (key != "type")
            continue;
        if (type)
            return make_error(decode_errc::invalid_value, "type: duplicate key");
        od::value v;
        std::string_view s;
        if (auto e = item.value().get(v)) {
            d.json_fail(e, p);
            return d.error;
        }
        od::json_type t;
        if (auto e = v.type().get(t)) {
            d.json_fail(e, p);
            return d.error;
        }
        if (t != od::json_type::string) {
            if (!d.skip(v, p)) // a malformed token ("tru") is not_json rather than a wrong type
                return d.error;
            return make_error(decode_errc::missing_type, "type: expected string");
        }
        if (auto e = v.get_string().get(s)) {
            d.json_fail(e, p);
            return d.error;
        }
        type.emplace(s);
    }
    if (!type)
        return make_error(decode_errc::missing_type, "type: missing");
    for (const auto& [name, t] : v1_types)
        if (name == *type)
            return t;
    return make_error(decode_errc::unknown_type,
                      fmt::format("unknown message type '{}'", clip(*type, max_key_in_message)));
}

decode_error unexpected(msg_type t)
{
    for (const auto& [name, type] : v1_types)
        if (type == t)
            return make_error(decode_errc::unexpected_type, fmt::format("unexpected message type '{}'", name));
    return make_error(decode_errc::unexpected_type, "unexpected message type");
}

// Decodes one frame: finds its type (first pass), then lets `body(decoder, type, root, out)` read
// the fields (second pass). `body` returns false on a decode error, kept in the decoder, and
// leaves `out` empty for a type the receiver does not accept.
template <class Variant, class Body> decode_result<Variant> decode_frame(std::string_view json, Body body)
{
    frame f{json};
    od::object root;
    if (auto err = f.open(root))
        return *err;
    auto type = read_type(root);
    if (!type)
        return type.error();
    if (auto err = f.open(root))
        return *err;
    decoder d;
    std::optional<Variant> out;
    if (!body(d, *type, root, out))
        return d.error;
    if (!out)
        return unexpected(*type);
    if (auto err = f.check_end())
        return *err;
    return std::move(*out);
}

// ---- per-message field readers ---------------------------------------------------------------

bool read_auth_request(decoder& d, od::object root, auth_request& m)
{
    static constexpr std::string_view names[] = {"api_key", "agent_version", "hostname"};
    return d.read_fields(root, {nullptr, "auth"}, {names, 0b111}, [&](std::size_t i, od::value v, const path& p) {
        switch (i) {
        case 0: return d.read_string(v, p, max_secret_bytes, m.api_key);
        case 1: return d.read_string(v, p, max_name_bytes, m.agent_version);
        default: return d.read_string(v, p, max_name_bytes, m.hostname);
        }
    });
}

bool read_metrics(decoder& d, od::object root, metrics& m)
{
    constexpr std::uint32_t required = 0b111; // server_id, seq, timestamp
    return d.read_fields(root, {nullptr, "metrics"}, {metrics_keys, required},
                         [&](std::size_t i, od::value v, const path& p) {
                             if (i == 0)
                                 return d.read_string(v, p, max_name_bytes, m.server_id);
                             if (i == 1) {
                                 if (!d.read_uint(v, p, m.seq))
                                     return false;
                                 return m.seq >= 1 || d.fail(decode_errc::invalid_value, p, "must be at least 1");
                             }
                             return d.read_sample_field(i - metrics_own_keys, v, p, m.data);
                         });
}

bool read_auth_success(decoder& d, od::object root, auth_success& m)
{
    static constexpr std::string_view names[] = {"server_id", "message"};
    m.message.clear(); // absent on the wire means absent here, not the struct's default text
    return d.read_fields(root, {nullptr, "auth_success"}, {names, 0b01},
                         [&](std::size_t i, od::value v, const path& p) {
                             return i == 0 ? d.read_string(v, p, max_name_bytes, m.server_id)
                                           : d.read_string(v, p, max_text_bytes, m.message);
                         });
}

bool read_ack(decoder& d, od::object root, ack& m)
{
    static constexpr std::string_view names[] = {"seq", "stream"};
    return d.read_fields(root, {nullptr, "ack"}, {names, 0b01}, [&](std::size_t i, od::value v, const path& p) {
        if (i == 1)
            return d.read_string(v, p, max_name_bytes, m.stream);
        if (!d.read_uint(v, p, m.seq))
            return false;
        return m.seq >= 1 || d.fail(decode_errc::invalid_value, p, "must be at least 1");
    });
}

bool read_pong(decoder& d, od::object root, pong& m)
{
    static constexpr std::string_view names[] = {"timestamp"};
    return d.read_fields(root, {nullptr, "pong"}, {names, 0},
                         [&](std::size_t, od::value v, const path& p) { return d.read_timestamp(v, p, m.timestamp_ms); });
}

bool read_error(decoder& d, od::object root, error& m)
{
    static constexpr std::string_view names[] = {"code", "message", "retry_after"};
    return d.read_fields(root, {nullptr, "error"}, {names, 0b011}, [&](std::size_t i, od::value v, const path& p) {
        switch (i) {
        case 0: return d.read_string(v, p, max_name_bytes, m.code);
        case 1: return d.read_string(v, p, max_text_bytes, m.message);
        default: {
            std::uint64_t s = 0;
            if (!d.read_uint(v, p, s, std::numeric_limits<std::uint32_t>::max()))
                return false;
            m.retry_after_s = static_cast<std::uint32_t>(s);
            return true;
        }
        }
    });
}

bool read_frontend_auth(decoder& d, od::object root, frontend_auth& m)
{
    static constexpr std::string_view names[] = {"token"};
    return d.read_fields(root, {nullptr, "auth"}, {names, 0b1}, [&](std::size_t, od::value v, const path& p) {
        return d.read_string(v, p, max_secret_bytes, m.token);
    });
}

bool read_subscribe(decoder& d, od::object root, subscribe& m)
{
    static constexpr std::string_view names[] = {"metrics", "min_interval_ms", "history_s"};
    return d.read_fields(root, {nullptr, "subscribe"}, {names, 0}, [&](std::size_t i, od::value v, const path& p) {
        switch (i) {
        case 0:
            return d.read_array(v, p, max_subscribed, [&](od::value ev, const path& ep) {
                return d.read_string(ev, ep, max_name_bytes, m.metrics.emplace_back());
            });
        case 1: return d.read_int(v, p, m.min_interval_ms.emplace());
        default: return d.read_int(v, p, m.history_s.emplace());
        }
    });
}

// Reads message `T` with `read` and stores it in the receiver's variant.
template <class T, class Variant>
bool read_into(decoder& d, od::object root, std::optional<Variant>& out, bool (*read)(decoder&, od::object, T&))
{
    T m;
    if (!read(d, root, m))
        return false;
    out.emplace(std::move(m));
    return true;
}

template <class T, class Variant> bool read_empty(decoder& d, od::object root, std::optional<Variant>& out, const char* name)
{
    if (!d.read_no_fields(root, {nullptr, name}))
        return false;
    out.emplace(T{});
    return true;
}

} // namespace

decode_result<from_agent> decode_from_agent(std::string_view json)
{
    return decode_frame<from_agent>(json, [](decoder& d, msg_type t, od::object root, std::optional<from_agent>& out) {
        switch (t) {
        case msg_type::auth: return read_into(d, root, out, &read_auth_request);
        case msg_type::metrics: return read_into(d, root, out, &read_metrics);
        case msg_type::ping: return read_empty<ping>(d, root, out, "ping");
        case msg_type::pong: return read_into(d, root, out, &read_pong);
        case msg_type::error: return read_into(d, root, out, &read_error);
        default: return true;
        }
    });
}

decode_result<from_collector> decode_from_collector(std::string_view json)
{
    return decode_frame<from_collector>(
        json, [](decoder& d, msg_type t, od::object root, std::optional<from_collector>& out) {
            switch (t) {
            case msg_type::auth_success: return read_into(d, root, out, &read_auth_success);
            case msg_type::ack: return read_into(d, root, out, &read_ack);
            case msg_type::ping: return read_empty<ping>(d, root, out, "ping");
            case msg_type::pong: return read_into(d, root, out, &read_pong);
            case msg_type::error: return read_into(d, root, out, &read_error);
            default: return true;
            }
        });
}

decode_result<from_frontend> decode_from_frontend(std::string_view json)
{
    return decode_frame<from_frontend>(
        json, [](decoder& d, msg_type t, od::object root, std::optional<from_frontend>& out) {
            switch (t) {
            case msg_type::auth: return read_into(d, root, out, &read_frontend_auth);
            case msg_type::subscribe: return read_into(d, root, out, &read_subscribe);
            case msg_type::ping: return read_empty<ping>(d, root, out, "ping");
            case msg_type::pong: return read_into(d, root, out, &read_pong);
            default: return true;
            }
        });
}

decode_result<sample_data> decode_sample_data(std::string_view json)
{
    frame f{json};
    od::object root;
    if (auto err = f.open(root))
        return *err;
    decoder d;
    sample_data s;
    const bool ok = d.read_fields(root, {nullptr, "data"}, {sample_keys, 0b1},
                                  [&](std::size_t i, od::value v, const path& p) {
                                      return d.read_sample_field(i, v, p, s);
                                  });
    if (!ok)
        return d.error;
    if (auto err = f.check_end())
        return *err;
    return s;
}

std::optional<sample_field> sample_field_from_name(std::string_view name)
{
    // sample_keys[0] is "timestamp", which is always sent; the rest follow the enum's order.
    for (unsigned i = 0; i < static_cast<unsigned>(sample_field::count_); ++i)
        if (sample_keys[i + 1] == name)
            return static_cast<sample_field>(i);
    return std::nullopt;
}

} // namespace corvid::proto
