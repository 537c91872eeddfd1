// Encoders of wire protocol v1 (proto/PROTOCOL.md). Field order is fixed, so equal messages give
// byte-equal text (tests/golden/ holds the canonical forms). Strings go through
// append_json_string and doubles through append_json_number, so the output is valid UTF-8 JSON
// whatever the structs hold. Ranges are not checked here: producers keep values in range.
// Pure functions, thread-safe.
#include "proto/codec.hpp"

#include <fmt/format.h>
#include <iterator>

#include "common/json_text.hpp"
#include "common/time_format.hpp"

namespace corvid::proto {
namespace {

void put_uint(std::string& out, std::uint64_t v) { fmt::format_to(std::back_inserter(out), "{}", v); }
void put_int(std::string& out, std::int64_t v) { fmt::format_to(std::back_inserter(out), "{}", v); }
void put_number(std::string& out, double v) { append_json_number(out, v); }
void put_string(std::string& out, std::string_view s) { append_json_string(out, s); }

// format_iso8601_ms writes only digits and "-:.TZ", so no escaping is needed.
void put_time(std::string& out, std::int64_t unix_ms)
{
    out.push_back('"');
    out.append(format_iso8601_ms(unix_ms));
    out.push_back('"');
}

// Writes `[f(e0),f(e1),…]`.
template <class Range, class F> void put_array(std::string& out, const Range& items, F put_one)
{
    out.push_back('[');
    bool first = true;
    for (const auto& item : items) {
        if (!first)
            out.push_back(',');
        first = false;
        put_one(out, item);
    }
    out.push_back(']');
}

bool selected(field_mask mask, sample_field f) { return (mask & mask_of(f)) != 0; }

void put_cpu(std::string& out, const cpu_stats& c)
{
    out.append(R"({"user":)");
    put_number(out, c.user);
    out.append(R"(,"system":)");
    put_number(out, c.system);
    out.append(R"(,"iowait":)");
    put_number(out, c.iowait);
    out.append(R"(,"steal":)");
    put_number(out, c.steal);
    // Inside a present section every field is written, so an empty core list is "[]".
    out.append(R"(,"cores":)");
    put_array(out, c.cores, put_number);
    out.push_back('}');
}

void put_memory(std::string& out, const memory_stats& m)
{
    out.append(R"({"total_bytes":)");
    put_uint(out, m.total_bytes);
    out.append(R"(,"used_bytes":)");
    put_uint(out, m.used_bytes);
    out.append(R"(,"available_bytes":)");
    put_uint(out, m.available_bytes);
    out.append(R"(,"swap_total_bytes":)");
    put_uint(out, m.swap_total_bytes);
    out.append(R"(,"swap_used_bytes":)");
    put_uint(out, m.swap_used_bytes);
    out.push_back('}');
}

void put_disk_usage(std::string& out, const disk_usage& d)
{
    out.append(R"({"mount":)");
    put_string(out, d.mount);
    out.append(R"(,"device":)");
    put_string(out, d.device);
    out.append(R"(,"fs":)");
    put_string(out, d.fs);
    out.append(R"(,"total_bytes":)");
    put_uint(out, d.total_bytes);
    out.append(R"(,"used_bytes":)");
    put_uint(out, d.used_bytes);
    out.append(R"(,"percent":)");
    put_number(out, d.percent);
    out.push_back('}');
}

void put_disk_io(std::string& out, const disk_io& d)
{
    out.append(R"({"device":)");
    put_string(out, d.device);
    out.append(R"(,"read_bytes_per_s":)");
    put_number(out, d.read_bytes_per_s);
    out.append(R"(,"write_bytes_per_s":)");
    put_number(out, d.write_bytes_per_s);
    out.push_back('}');
}

void put_network(std::string& out, const network_interface& n)
{
    out.append(R"({"interface":)");
    put_string(out, n.interface);
    out.append(R"(,"rx_bytes_per_s":)");
    put_number(out, n.rx_bytes_per_s);
    out.append(R"(,"tx_bytes_per_s":)");
    put_number(out, n.tx_bytes_per_s);
    out.append(R"(,"rx_bytes_total":)");
    put_uint(out, n.rx_bytes_total);
    out.append(R"(,"tx_bytes_total":)");
    put_uint(out, n.tx_bytes_total);
    out.push_back('}');
}

// Unknown numbers (first sight of a container, no stats yet) are omitted, as is "stale" when false.
void put_container(std::string& out, const container_stats& c)
{
    out.append(R"({"id":)");
    put_string(out, c.id);
    out.append(R"(,"name":)");
    put_string(out, c.name);
    out.append(R"(,"image":)");
    put_string(out, c.image);
    out.append(R"(,"state":)");
    put_string(out, c.state);
    out.append(R"(,"status":)");
    put_string(out, c.status);
    if (c.cpu_percent) {
        out.append(R"(,"cpu_percent":)");
        put_number(out, *c.cpu_percent);
    }
    if (c.memory_bytes) {
        out.append(R"(,"memory_bytes":)");
        put_uint(out, *c.memory_bytes);
    }
    if (c.memory_limit_bytes) {
        out.append(R"(,"memory_limit_bytes":)");
        put_uint(out, *c.memory_limit_bytes);
    }
    if (c.rx_bytes_per_s) {
        out.append(R"(,"rx_bytes_per_s":)");
        put_number(out, *c.rx_bytes_per_s);
    }
    if (c.tx_bytes_per_s) {
        out.append(R"(,"tx_bytes_per_s":)");
        put_number(out, *c.tx_bytes_per_s);
    }
    if (c.stale)
        out.append(R"(,"stale":true)");
    out.push_back('}');
}

// `"timestamp":…` and the selected sections present, without braces: shared by the agent's flat
// metrics message and the frontend's "data" object. Absent sections (nullopt, or an empty list)
// are omitted, which keeps a sample from a minimal agent small.
void put_sample_fields(std::string& out, const sample_data& s, field_mask mask)
{
    out.append(R"("timestamp":)");
    put_time(out, s.timestamp_ms);
    if (s.cpu_percent && selected(mask, sample_field::cpu_percent)) {
        out.append(R"(,"cpu_percent":)");
        put_number(out, *s.cpu_percent);
    }
    if (s.memory_percent && selected(mask, sample_field::memory_percent)) {
        out.append(R"(,"memory_percent":)");
        put_number(out, *s.memory_percent);
    }
    if (s.load && selected(mask, sample_field::load)) {
        out.append(R"(,"load":)");
        put_array(out, *s.load, put_number);
    }
    if (s.uptime_s && selected(mask, sample_field::uptime_s)) {
        out.append(R"(,"uptime_s":)");
        put_uint(out, *s.uptime_s);
    }
    if (s.cpu && selected(mask, sample_field::cpu)) {
        out.append(R"(,"cpu":)");
        put_cpu(out, *s.cpu);
    }
    if (s.memory && selected(mask, sample_field::memory)) {
        out.append(R"(,"memory":)");
        put_memory(out, *s.memory);
    }
    if (!s.disk_usage.empty() && selected(mask, sample_field::disk_usage)) {
        out.append(R"(,"disk_usage":)");
        put_array(out, s.disk_usage, put_disk_usage);
    }
    if (!s.disk_io.empty() && selected(mask, sample_field::disk_io)) {
        out.append(R"(,"disk_io":)");
        put_array(out, s.disk_io, put_disk_io);
    }
    if (!s.network.empty() && selected(mask, sample_field::network)) {
        out.append(R"(,"network":)");
        put_array(out, s.network, put_network);
    }
    // Unlike the lists above, an empty container list is written: "docker is on, nothing runs".
    if (s.containers && selected(mask, sample_field::containers)) {
        out.append(R"(,"containers":)");
        put_array(out, *s.containers, put_container);
    }
}

void put_sample_object(std::string& out, const sample_data& s, field_mask mask)
{
    out.push_back('{');
    put_sample_fields(out, s, mask);
    out.push_back('}');
}

// A rough size for reserve(): one allocation for typical samples.
std::size_t size_hint(const sample_data& s)
{
    return 512 + 24 * (s.cpu ? s.cpu->cores.size() : 0) + 160 * s.disk_usage.size() + 96 * s.disk_io.size()
           + 160 * s.network.size() + 256 * (s.containers ? s.containers->size() : 0);
}

} // namespace

std::string encode(const auth_request& m)
{
    std::string out = R"({"type":"auth","api_key":)";
    put_string(out, m.api_key);
    out.append(R"(,"agent_version":)");
    put_string(out, m.agent_version);
    out.append(R"(,"hostname":)");
    put_string(out, m.hostname);
    if (m.interval_s) {
        out.append(R"(,"interval_s":)");
        put_uint(out, *m.interval_s);
    }
    out.push_back('}');
    return out;
}

std::string encode(const metrics& m)
{
    std::string out;
    out.reserve(size_hint(m.data));
    out.append(R"({"type":"metrics","server_id":)");
    put_string(out, m.server_id);
    out.append(R"(,"seq":)");
    put_uint(out, m.seq);
    out.push_back(',');
    put_sample_fields(out, m.data, all_fields);
    out.push_back('}');
    return out;
}

std::string encode(const auth_success& m)
{
    std::string out = R"({"type":"auth_success","server_id":)";
    put_string(out, m.server_id);
    if (!m.message.empty()) {
        out.append(R"(,"message":)");
        put_string(out, m.message);
    }
    out.push_back('}');
    return out;
}

std::string encode(const ack& m)
{
    std::string out = R"({"type":"ack","seq":)";
    put_uint(out, m.seq);
    // "metrics" is the default stream; v1 agents need not know the field exists.
    if (m.stream != "metrics") {
        out.append(R"(,"stream":)");
        put_string(out, m.stream);
    }
    out.push_back('}');
    return out;
}

std::string encode(const ping&) { return R"({"type":"ping"})"; }

std::string encode(const pong& m)
{
    std::string out = R"({"type":"pong")";
    // 0 is what a decoded pong without a timestamp holds; writing it back as absent round-trips.
    if (m.timestamp_ms != 0) {
        out.append(R"(,"timestamp":)");
        put_time(out, m.timestamp_ms);
    }
    out.push_back('}');
    return out;
}

std::string encode(const error& m)
{
    std::string out = R"({"type":"error","code":)";
    put_string(out, m.code);
    out.append(R"(,"message":)");
    put_string(out, m.message);
    if (m.retry_after_s) {
        out.append(R"(,"retry_after":)");
        put_uint(out, *m.retry_after_s);
    }
    out.push_back('}');
    return out;
}

std::string encode(const frontend_auth& m)
{
    std::string out = R"({"type":"auth","token":)";
    put_string(out, m.token);
    out.push_back('}');
    return out;
}

std::string encode(const subscribe& m)
{
    std::string out = R"({"type":"subscribe")";
    if (!m.metrics.empty()) {
        out.append(R"(,"metrics":)");
        put_array(out, m.metrics, put_string);
    }
    if (m.min_interval_ms) {
        out.append(R"(,"min_interval_ms":)");
        put_int(out, *m.min_interval_ms);
    }
    if (m.history_s) {
        out.append(R"(,"history_s":)");
        put_int(out, *m.history_s);
    }
    out.push_back('}');
    return out;
}

// ---- commands --------------------------------------------------------------------------------

namespace {
// The fields every signed command carries after its own ones.
void put_signed_tail(std::string& out, std::string_view server_id, std::string_view issued_by, std::int64_t issued_at,
                     std::int64_t expires_at, std::string_view signature)
{
    out.append(R"(,"server_id":)");
    put_string(out, server_id);
    out.append(R"(,"issued_by":)");
    put_string(out, issued_by);
    out.append(R"(,"issued_at":)");
    put_time(out, issued_at);
    out.append(R"(,"expires_at":)");
    put_time(out, expires_at);
    out.append(R"(,"signature":)");
    put_string(out, signature);
    out.push_back('}');
}

void put_optional_string(std::string& out, std::string_view key, const std::optional<std::string>& v)
{
    if (!v)
        return;
    out.append(",\"");
    out.append(key);
    out.append("\":");
    put_string(out, *v);
}
} // namespace

std::string encode(const command& m)
{
    std::string out = R"({"type":"command","command_id":)";
    put_string(out, m.command_id);
    out.append(R"(,"command":)");
    put_string(out, m.command);
    out.append(R"(,"timeout_s":)");
    put_uint(out, m.timeout_s);
    put_signed_tail(out, m.server_id, m.issued_by, m.issued_at_ms, m.expires_at_ms, m.signature);
    return out;
}

std::string encode(const docker_command& m)
{
    std::string out = R"({"type":"docker_command","command_id":)";
    put_string(out, m.command_id);
    out.append(R"(,"action":)");
    put_string(out, m.action);
    out.append(R"(,"container_id":)");
    put_string(out, m.container_id);
    put_signed_tail(out, m.server_id, m.issued_by, m.issued_at_ms, m.expires_at_ms, m.signature);
    return out;
}

std::string encode(const command_output& m)
{
    std::string out;
    out.reserve(m.data.size() + 96);
    out.append(R"({"type":"command_output","command_id":)");
    put_string(out, m.command_id);
    out.append(R"(,"stream":)");
    put_string(out, m.stream);
    out.append(R"(,"data":)");
    put_string(out, m.data);
    out.push_back('}');
    return out;
}

std::string encode(const command_response& m)
{
    std::string out;
    out.reserve(m.output.size() + 192);
    out.append(R"({"type":"command_response","command_id":)");
    put_string(out, m.command_id);
    out.append(R"(,"output":)");
    put_string(out, m.output);
    out.append(R"(,"exit_code":)");
    put_int(out, m.exit_code);
    out.append(R"(,"duration_ms":)");
    put_int(out, m.duration_ms);
    out.append(m.truncated ? R"(,"truncated":true)" : R"(,"truncated":false)");
    out.append(m.timed_out ? R"(,"timed_out":true)" : R"(,"timed_out":false)");
    put_optional_string(out, "error", m.error);
    put_optional_string(out, "message", m.message);
    out.push_back('}');
    return out;
}

std::string encode(const docker_response& m)
{
    std::string out = R"({"type":"docker_response","command_id":)";
    put_string(out, m.command_id);
    out.append(m.success ? R"(,"success":true)" : R"(,"success":false)");
    out.append(R"(,"message":)");
    put_string(out, m.message);
    put_optional_string(out, "error", m.error);
    out.push_back('}');
    return out;
}

// ---- logs and gaps ---------------------------------------------------------------------------

void append_log_entry(std::string& out, const log_entry& e)
{
    out.append(R"({"timestamp":)");
    put_time(out, e.timestamp_ms);
    out.append(R"(,"level":)");
    put_string(out, e.level);
    out.append(R"(,"source":)");
    put_string(out, e.source);
    out.append(R"(,"message":)");
    put_string(out, e.message);
    if (e.truncated) // written only when set: most lines are whole
        out.append(R"(,"truncated":true)");
    out.push_back('}');
}

std::string encode_log_entry(const log_entry& e)
{
    std::string out;
    out.reserve(e.message.size() + e.source.size() + 96);
    append_log_entry(out, e);
    return out;
}

std::string encode(const log_batch& m)
{
    std::size_t hint = 64;
    for (const auto& e : m.entries)
        hint += e.message.size() + e.source.size() + 96;
    std::string out;
    out.reserve(hint);
    out.append(R"({"type":"log","seq":)");
    put_uint(out, m.seq);
    out.append(R"(,"entries":)");
    put_array(out, m.entries, append_log_entry);
    out.push_back('}');
    return out;
}

std::string encode(const gap& m)
{
    std::string out = R"({"type":"gap","stream":)";
    put_string(out, m.stream);
    out.append(R"(,"first_seq":)");
    put_uint(out, m.first_seq);
    out.append(R"(,"last_seq":)");
    put_uint(out, m.last_seq);
    out.append(R"(,"count":)");
    put_uint(out, m.count);
    if (m.from_ms) {
        out.append(R"(,"from":)");
        put_time(out, *m.from_ms);
    }
    if (m.to_ms) {
        out.append(R"(,"to":)");
        put_time(out, *m.to_ms);
    }
    out.append(R"(,"reason":)");
    put_string(out, m.reason);
    out.push_back('}');
    return out;
}

std::string encode(const log_subscribe& m)
{
    std::string out = R"({"type":"subscribe")";
    put_optional_string(out, "level", m.level);
    put_optional_string(out, "search", m.search);
    put_optional_string(out, "source", m.source);
    if (m.history) {
        out.append(R"(,"history":)");
        put_int(out, *m.history);
    }
    out.push_back('}');
    return out;
}

std::string encode_frontend_log(const log_entry& e)
{
    std::string out;
    out.reserve(e.message.size() + e.source.size() + 128);
    out.append(R"({"type":"log","data":)");
    append_log_entry(out, e);
    out.push_back('}');
    return out;
}

std::string encode_dropped(std::uint64_t count) { return fmt::format(R"({{"type":"dropped","count":{}}})", count); }

std::string encode_sample_data(const sample_data& s, field_mask mask)
{
    std::string out;
    out.reserve(size_hint(s));
    put_sample_object(out, s, mask);
    return out;
}

// The collector also builds this message from a stored encode_sample_data() text with plain
// concatenation; both must give the same bytes (tested).
std::string encode_frontend_metrics(std::string_view server_id, const sample_data& s, field_mask mask)
{
    std::string out;
    out.reserve(size_hint(s) + server_id.size());
    out.append(R"({"type":"metrics","server_id":)");
    put_string(out, server_id);
    out.append(R"(,"data":)");
    put_sample_object(out, s, mask);
    out.push_back('}');
    return out;
}

std::string encode_history(const std::vector<sample_data>& samples, field_mask mask)
{
    std::string out;
    std::size_t hint = 32;
    for (const auto& s : samples)
        hint += size_hint(s);
    out.reserve(hint);
    out.append(R"({"type":"history","data":)");
    put_array(out, samples, [mask](std::string& o, const sample_data& s) { put_sample_object(o, s, mask); });
    out.push_back('}');
    return out;
}

std::string encode_status(bool online, std::optional<std::int64_t> last_seen_ms)
{
    std::string out = online ? R"({"type":"status","data":{"online":true,"last_seen":)"
                             : R"({"type":"status","data":{"online":false,"last_seen":)";
    if (last_seen_ms)
        put_time(out, *last_seen_ms);
    else
        out.append("null");
    out.append("}}");
    return out;
}

} // namespace corvid::proto
