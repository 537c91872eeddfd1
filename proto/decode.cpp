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
#include "proto/decode_commands.hpp"
#include "proto/decode_logs.hpp"
#include "proto/json_reader.hpp"

namespace corvid::proto {
namespace {
using namespace detail;

class decoder : public json_reader {
public:
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

    bool read_container(od::value v, const path& p, container_stats& out)
    {
        static constexpr std::string_view names[] = {"id",           "name",           "image",
                                                     "state",        "status",         "cpu_percent",
                                                     "memory_bytes", "memory_limit_bytes", "rx_bytes_per_s",
                                                     "tx_bytes_per_s", "stale"};
        return read_object(v, p, {names, 0b11111}, [&](std::size_t i, od::value fv, const path& fp) {
            switch (i) {
            case 0: return read_string(fv, fp, max_name_bytes, out.id);
            case 1: return read_string(fv, fp, max_name_bytes, out.name);
            case 2: return read_string(fv, fp, max_name_bytes, out.image);
            case 3: return read_string(fv, fp, max_name_bytes, out.state);
            case 4: return read_string(fv, fp, max_name_bytes, out.status);
            // Docker reports a container's CPU as a share of one core: 250% is four busy cores.
            case 5: return read_non_negative(fv, fp, out.cpu_percent.emplace());
            case 6: return read_uint(fv, fp, out.memory_bytes.emplace());
            case 7: return read_uint(fv, fp, out.memory_limit_bytes.emplace());
            case 8: return read_non_negative(fv, fp, out.rx_bytes_per_s.emplace());
            case 9: return read_non_negative(fv, fp, out.tx_bytes_per_s.emplace());
            default: return read_bool(fv, fp, out.stale);
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
        case 9: return read_entries(v, p, s.network, &decoder::read_network);
        default: return read_entries(v, p, s.containers.emplace(), &decoder::read_container);
        }
    }
};

// The sample fields, in wire order. metrics_keys is the same list behind server_id and seq.
constexpr std::string_view sample_keys[] = {"timestamp", "cpu_percent", "memory_percent", "load",
                                            "uptime_s",  "cpu",         "memory",         "disk_usage",
                                            "disk_io",   "network",     "containers"};
constexpr std::string_view metrics_keys[] = {"server_id", "seq",     "timestamp",  "cpu_percent",
                                             "memory_percent", "load", "uptime_s", "cpu",
                                             "memory",    "disk_usage", "disk_io", "network",
                                             "containers"};
constexpr std::size_t metrics_own_keys = 2;
static_assert(std::size(sample_keys) == static_cast<std::size_t>(sample_field::count_) + 1);
static_assert(std::size(metrics_keys) == std::size(sample_keys) + metrics_own_keys);

// ---- framing: size, root object, trailing content, "type" ------------------------------------

enum class msg_type {
    auth, auth_success, metrics, ack, ping, pong, error, subscribe, history, status,
    command, docker_command, command_output, command_response, docker_response, log, gap, dropped
};

constexpr std::pair<std::string_view, msg_type> v1_types[] = {
    {"auth", msg_type::auth},   {"auth_success", msg_type::auth_success}, {"metrics", msg_type::metrics},
    {"ack", msg_type::ack},     {"ping", msg_type::ping},                 {"pong", msg_type::pong},
    {"error", msg_type::error}, {"subscribe", msg_type::subscribe},       {"history", msg_type::history},
    {"status", msg_type::status},
    {"command", msg_type::command},
    {"docker_command", msg_type::docker_command},
    {"command_output", msg_type::command_output},
    {"command_response", msg_type::command_response},
    {"docker_response", msg_type::docker_response},
    {"log", msg_type::log},
    {"gap", msg_type::gap},
    {"dropped", msg_type::dropped},
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
    static constexpr std::string_view names[] = {"api_key", "agent_version", "hostname", "interval_s"};
    return d.read_fields(root, {nullptr, "auth"}, {names, 0b111}, [&](std::size_t i, od::value v, const path& p) {
        switch (i) {
        case 0: return d.read_string(v, p, max_secret_bytes, m.api_key);
        case 1: return d.read_string(v, p, max_name_bytes, m.agent_version);
        case 2: return d.read_string(v, p, max_name_bytes, m.hostname);
        default: {
            std::uint64_t s = 0;
            if (!d.read_uint(v, p, s, 60))
                return false;
            if (s == 0)
                return d.fail(decode_errc::invalid_value, p, "expected 1 to 60");
            m.interval_s = static_cast<std::uint32_t>(s);
            return true;
        }
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
template <class T, class Variant, class Reader>
bool read_into(decoder& d, od::object root, std::optional<Variant>& out, bool (*read)(Reader&, od::object, T&))
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
        case msg_type::command_output: return read_into(d, root, out, &read_command_output);
        case msg_type::command_response: return read_into(d, root, out, &read_command_response);
        case msg_type::docker_response: return read_into(d, root, out, &read_docker_response);
        case msg_type::log: return read_into(d, root, out, &read_log_batch);
        case msg_type::gap: return read_into(d, root, out, &read_gap);
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
            case msg_type::command: return read_into(d, root, out, &read_command);
            case msg_type::docker_command: return read_into(d, root, out, &read_docker_command);
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

decode_result<from_log_frontend> decode_from_log_frontend(std::string_view json)
{
    return decode_frame<from_log_frontend>(
        json, [](decoder& d, msg_type t, od::object root, std::optional<from_log_frontend>& out) {
            switch (t) {
            case msg_type::auth: return read_into(d, root, out, &read_frontend_auth);
            case msg_type::subscribe: return read_into(d, root, out, &read_log_subscribe);
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
