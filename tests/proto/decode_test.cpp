#include "proto/codec.hpp"

#include <doctest/doctest.h>
#include <random>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "samples.hpp"

using namespace corvid::proto;
using corvid::proto::test::check_fails;
using corvid::proto::test::sample_at;
using corvid::proto::test::t_2026_01_01_00_00_05;

namespace {
const std::string metrics_head = R"({"type":"metrics","server_id":"s","seq":1,"timestamp":"2026-01-01T00:00:05.000Z")";

// A metrics message with `extra` (a comma-led field list, or "") after the required fields.
std::string metrics_with(const std::string& extra) { return metrics_head + extra + "}"; }

std::string repeat(const std::string& item, std::size_t n, const std::string& sep = ",")
{
    std::string out;
    for (std::size_t i = 0; i < n; ++i)
        out += (i ? sep : "") + item;
    return out;
}

void agent_fails(const std::string& json, decode_errc code, const std::string& fragment)
{
    INFO(json.substr(0, 200));
    check_fails(decode_from_agent(json), code, fragment);
}

metrics agent_metrics_ok(const std::string& json)
{
    INFO(json.substr(0, 200));
    auto r = decode_from_agent(json);
    REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message));
    REQUIRE(std::holds_alternative<metrics>(*r));
    return std::get<metrics>(*r);
}
} // namespace

TEST_SUITE("proto.decode")
{
    // ---- framing --------------------------------------------------------------------------

    TEST_CASE("decode: a document that is not an object is not_object")
    {
        for (const char* json : {"[1]", R"("ping")", "5", "null", "true", "[]"}) {
            INFO(std::string(json));
            check_fails(decode_from_agent(json), decode_errc::not_object, "object");
            check_fails(decode_from_frontend(json), decode_errc::not_object, "object");
            check_fails(decode_sample_data(json), decode_errc::not_object, "object");
        }
    }

    TEST_CASE("decode: malformed JSON is not_json")
    {
        for (const char* json : {"", "   ", "{", R"({"type":"ping",})", R"({"type":tru})", R"({"type" "ping"})",
                                 R"({"type":"ping","x":[1,2,}})", R"({"type":"ping","x":nul})", R"({"type":"ping","x":-})",
                                 R"({"type":"ping","x":NaN})", R"({"type":"ping","x":Infinity})", "{\"type\":\"ping\"",
                                 "{\"type\":\"pi\xFFng\"}", R"({"type":"ping","x":01})"}) {
            INFO(std::string(json));
            const auto r = decode_from_agent(json);
            REQUIRE_FALSE(r.has_value());
            // "01" is a malformed number, which simdjson reports like an out-of-range one.
            CHECK((r.error().code == decode_errc::not_json || r.error().code == decode_errc::invalid_value));
            if (std::string_view(json).find("01") == std::string_view::npos)
                CHECK(r.error().code == decode_errc::not_json);
        }
    }

    TEST_CASE("decode: content after the object is trailing_content")
    {
        for (const char* json : {R"({"type":"ping"} x)", R"({"type":"ping"}})", R"({"type":"ping"}{"type":"ping"})",
                                 R"({"type":"ping"} [])", R"({"type":"ping"} "}")"}) {
            INFO(std::string(json));
            check_fails(decode_from_agent(json), decode_errc::trailing_content, "after");
        }
        check_fails(decode_sample_data(R"({"timestamp":"2026-01-01T00:00:05Z"} 1)"), decode_errc::trailing_content,
                    "after");
        // Whitespace around the object is not content.
        CHECK(decode_from_agent(" \n{\"type\":\"ping\"}\r\n\t ").has_value());
    }

    TEST_CASE("decode: a frame larger than max_frame_bytes is refused before parsing")
    {
        std::string json = R"({"type":"ping"})";
        json.resize(max_frame_bytes, ' ');
        CHECK(decode_from_agent(json).has_value());
        json.push_back(' ');
        check_fails(decode_from_agent(json), decode_errc::not_json, "exceeds the limit of 1048576 bytes");
        check_fails(decode_sample_data(json), decode_errc::not_json, "exceeds");
    }

    TEST_CASE("decode: nesting deeper than 32 levels is an error, not a crash")
    {
        const auto nested = [](std::size_t n) {
            return R"({"type":"ping","x":)" + std::string(n, '[') + "1" + std::string(n, ']') + "}";
        };
        CHECK(decode_from_agent(nested(31)).has_value()); // root object + 31 arrays = 32 levels
        CHECK(decode_from_agent(R"({"type":"ping","x":)" + repeat(R"({"a":)", 31, "") + "1" + std::string(31, '}') + "}")
                  .has_value());
        check_fails(decode_from_agent(R"({"type":"ping","x":)" + repeat(R"({"a":)", 32, "") + "1" + std::string(32, '}') + "}"),
                    decode_errc::not_json, "nested too deep");
        check_fails(decode_from_agent(nested(32)), decode_errc::not_json, "nested too deep");
        check_fails(decode_from_agent(nested(200000)), decode_errc::not_json, "nested too deep");
        // Unbalanced deep nesting fails too.
        const auto r = decode_from_agent(R"({"type":"ping","x":)" + std::string(100000, '[') + "}");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == decode_errc::not_json);
        // Where a number is expected, an array is just the wrong type.
        agent_fails(metrics_with(R"(,"cpu_percent":[[[[1]]]])"), decode_errc::wrong_type, "metrics.cpu_percent");
    }

    TEST_CASE("decode: invalid UTF-8 in the input is not_json")
    {
        agent_fails("{\"type\":\"auth\",\"api_key\":\"k\xC3\",\"agent_version\":\"1\",\"hostname\":\"h\"}",
                    decode_errc::not_json, "UTF-8");
    }

    // ---- type -----------------------------------------------------------------------------

    TEST_CASE("decode: missing or non-string type is missing_type")
    {
        agent_fails("{}", decode_errc::missing_type, "type: missing");
        agent_fails(R"({"seq":1})", decode_errc::missing_type, "type: missing");
        agent_fails(R"({"type":5})", decode_errc::missing_type, "type: expected string");
        agent_fails(R"({"type":null})", decode_errc::missing_type, "type");
        check_fails(decode_from_frontend(R"({"Type":"ping"})"), decode_errc::missing_type, "type");
    }

    TEST_CASE("decode: a type v1 does not define is unknown_type, naming it")
    {
        agent_fails(R"({"type":"foo"})", decode_errc::unknown_type, "unknown message type 'foo'");
        check_fails(decode_from_collector(R"({"type":"shell"})"), decode_errc::unknown_type, "'shell'");
        check_fails(decode_from_frontend(R"({"type":"PING"})"), decode_errc::unknown_type, "'PING'");
        // A huge type name is cut in the message.
        const auto r = decode_from_agent(R"({"type":")" + std::string(5000, 'x') + R"("})");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == decode_errc::unknown_type);
        CHECK(r.error().message.size() < 200);
    }

    TEST_CASE("decode: a defined type the receiver does not accept is unexpected_type")
    {
        agent_fails(R"({"type":"auth_success","server_id":"x"})", decode_errc::unexpected_type, "'auth_success'");
        agent_fails(R"({"type":"ack","seq":1})", decode_errc::unexpected_type, "'ack'");
        agent_fails(R"({"type":"subscribe"})", decode_errc::unexpected_type, "'subscribe'");
        agent_fails(R"({"type":"history","data":[]})", decode_errc::unexpected_type, "'history'");
        check_fails(decode_from_collector(metrics_with("")), decode_errc::unexpected_type, "'metrics'");
        check_fails(decode_from_collector(R"({"type":"auth","api_key":"k"})"), decode_errc::unexpected_type, "'auth'");
        check_fails(decode_from_frontend(metrics_with("")), decode_errc::unexpected_type, "'metrics'");
        check_fails(decode_from_frontend(R"({"type":"error","code":"x","message":"y"})"),
                    decode_errc::unexpected_type, "'error'");
        check_fails(decode_from_frontend(R"({"type":"status","data":{}})"), decode_errc::unexpected_type, "'status'");
    }

    TEST_CASE("decode: type may come anywhere and keys may be escaped")
    {
        const auto m = agent_metrics_ok(R"({"seq":9,"server_id":"s","timestamp":"2026-01-01T00:00:05.000Z","type":"metrics"})");
        CHECK(m.seq == 9);
        const auto r = decode_from_agent(R"({"typ\u0065":"ping"})");
        REQUIRE(r.has_value());
        CHECK(std::holds_alternative<ping>(*r));
        CHECK(agent_metrics_ok(metrics_with(R"(,"uptime\u005fs":7)")).data.uptime_s == 7u);
    }

    // ---- duplicates and unknown fields ----------------------------------------------------

    TEST_CASE("decode: a known key twice is invalid_value")
    {
        agent_fails(R"({"type":"ping","type":"ping"})", decode_errc::invalid_value, "type: duplicate key");
        agent_fails(metrics_with(R"(,"seq":2)"), decode_errc::invalid_value, "metrics.seq: duplicate key");
        agent_fails(metrics_with(R"(,"cpu_percent":1,"cpu_percent":2)"), decode_errc::invalid_value,
                    "metrics.cpu_percent: duplicate key");
        agent_fails(metrics_with(R"(,"memory":{"total_bytes":1,"used_bytes":1,"available_bytes":1,)"
                                 R"("swap_total_bytes":1,"swap_used_bytes":1,"used_bytes":2})"),
                    decode_errc::invalid_value, "metrics.memory.used_bytes: duplicate key");
        check_fails(decode_from_collector(R"({"type":"ack","seq":1,"stream":"a","stream":"b"})"),
                    decode_errc::invalid_value, "ack.stream: duplicate key");
        // A duplicated unknown key is ignored like any unknown key.
        CHECK(decode_from_agent(R"({"type":"ping","x":1,"x":2})").has_value());
    }

    TEST_CASE("decode: unknown fields are ignored at every level, but must be valid JSON")
    {
        const auto m = agent_metrics_ok(metrics_with(
            R"(,"future":{"a":[1,2.5,-3e10,"x",true,false,null,{"b":[]}]},"cpu":{"user":1,"system":2,"iowait":3,)"
            R"("steal":4,"cores":[5],"guest":9},"disk_io":[{"device":"vda","read_bytes_per_s":1,)"
            R"("write_bytes_per_s":2,"queue":[3]}],"big":18446744073709551616)"));
        REQUIRE(m.data.cpu.has_value());
        CHECK(m.data.cpu->cores == std::vector<double>{5});
        CHECK(m.data.disk_io.size() == 1);
        agent_fails(metrics_with(R"(,"future":{"a":tru})"), decode_errc::not_json, "metrics.future.a");
        agent_fails(metrics_with(R"(,"future":"\ud800")"), decode_errc::invalid_value, "metrics.future");
    }

    // ---- agent -> collector: auth -----------------------------------------------------------

    TEST_CASE("decode_from_agent: auth with all fields")
    {
        const auto r = decode_from_agent(R"({"type":"auth","api_key":"k1","agent_version":"0.1.0","hostname":"h\u00e9"})");
        REQUIRE(r.has_value());
        const auto& a = std::get<auth_request>(*r);
        CHECK(a.api_key == "k1");
        CHECK(a.agent_version == "0.1.0");
        CHECK(a.hostname == "h\xC3\xA9");
    }

    TEST_CASE("decode_from_agent: auth missing or mistyped fields name the field")
    {
        agent_fails(R"({"type":"auth","agent_version":"1","hostname":"h"})", decode_errc::missing_field,
                    "auth.api_key: missing");
        agent_fails(R"({"type":"auth","api_key":"k","hostname":"h"})", decode_errc::missing_field,
                    "auth.agent_version: missing");
        agent_fails(R"({"type":"auth","api_key":"k","agent_version":"1"})", decode_errc::missing_field,
                    "auth.hostname: missing");
        agent_fails(R"({"type":"auth","api_key":42,"agent_version":"1","hostname":"h"})", decode_errc::wrong_type,
                    "auth.api_key: expected string");
        agent_fails(R"({"type":"auth","api_key":null,"agent_version":"1","hostname":"h"})", decode_errc::wrong_type,
                    "auth.api_key");
        // A frontend's auth is not an agent's.
        agent_fails(R"({"type":"auth","token":"t"})", decode_errc::missing_field, "auth.api_key");
    }

    TEST_CASE("decode_from_agent: string length limits")
    {
        const auto auth = [](const std::string& key, const std::string& host) {
            return R"({"type":"auth","api_key":")" + key + R"(","agent_version":"1","hostname":")" + host + R"("})";
        };
        CHECK(decode_from_agent(auth(std::string(4096, 'k'), std::string(1024, 'h'))).has_value());
        agent_fails(auth(std::string(4097, 'k'), "h"), decode_errc::invalid_value, "auth.api_key: longer than 4096 bytes");
        agent_fails(auth("k", std::string(1025, 'h')), decode_errc::invalid_value, "auth.hostname: longer than 1024 bytes");
        // The limit counts decoded bytes: 1024 escaped 'h's are 1024 bytes.
        CHECK(decode_from_agent(auth("k", repeat("\\u0068", 1024, ""))).has_value());

        const auto err = [](std::size_t n) {
            return R"({"type":"error","code":"c","message":")" + std::string(n, 'm') + R"("})";
        };
        CHECK(decode_from_agent(err(65536)).has_value());
        agent_fails(err(65537), decode_errc::invalid_value, "error.message: longer than 65536 bytes");
        agent_fails(R"({"type":"error","code":")" + std::string(1025, 'c') + R"(","message":"m"})",
                    decode_errc::invalid_value, "error.code");
    }

    // ---- agent -> collector: metrics --------------------------------------------------------

    TEST_CASE("decode_from_agent: minimal metrics leaves every section absent")
    {
        const auto m = agent_metrics_ok(metrics_with(""));
        CHECK(m.server_id == "s");
        CHECK(m.seq == 1);
        CHECK(m.data == sample_at(t_2026_01_01_00_00_05));
    }

    TEST_CASE("decode_from_agent: missing seq names the field")
    {
        agent_fails(R"({"type":"metrics","server_id":"s","timestamp":"2026-01-01T00:00:05.000Z"})",
                    decode_errc::missing_field, "metrics.seq: missing");
        agent_fails(R"({"type":"metrics","seq":1,"timestamp":"2026-01-01T00:00:05.000Z"})", decode_errc::missing_field,
                    "metrics.server_id: missing");
        agent_fails(R"({"type":"metrics","server_id":"s","seq":1})", decode_errc::missing_field,
                    "metrics.timestamp: missing");
    }

    TEST_CASE("decode_from_agent: seq must be an unsigned integer of at least 1")
    {
        const auto with_seq = [](const std::string& seq) {
            return R"({"type":"metrics","server_id":"s","seq":)" + seq + R"(,"timestamp":"2026-01-01T00:00:05Z"})";
        };
        agent_fails(with_seq(R"("1")"), decode_errc::wrong_type, "metrics.seq: expected unsigned integer");
        agent_fails(with_seq("null"), decode_errc::wrong_type, "metrics.seq: expected unsigned integer");
        agent_fails(with_seq("-1"), decode_errc::invalid_value, "metrics.seq: expected unsigned integer");
        agent_fails(with_seq("1.5"), decode_errc::invalid_value, "metrics.seq: expected unsigned integer");
        agent_fails(with_seq("1e2"), decode_errc::invalid_value, "metrics.seq: expected unsigned integer");
        agent_fails(with_seq("18446744073709551616"), decode_errc::invalid_value, "metrics.seq: expected unsigned integer");
        agent_fails(with_seq("0"), decode_errc::invalid_value, "metrics.seq: must be at least 1");
        CHECK(agent_metrics_ok(with_seq("18446744073709551615")).seq == 18446744073709551615u);
        CHECK(agent_metrics_ok(with_seq("9223372036854775808")).seq == 9223372036854775808u);
    }

    TEST_CASE("decode_from_agent: timestamp must be ISO 8601 UTC")
    {
        const auto with_ts = [](const std::string& ts) {
            return R"({"type":"metrics","server_id":"s","seq":1,"timestamp":)" + ts + "}";
        };
        CHECK(agent_metrics_ok(with_ts(R"("2026-01-01T00:00:05Z")")).data.timestamp_ms == t_2026_01_01_00_00_05);
        CHECK(agent_metrics_ok(with_ts(R"("2026-01-01T00:00:05.123456Z")")).data.timestamp_ms
              == t_2026_01_01_00_00_05 + 123);
        agent_fails(with_ts(R"("2026-13-01T00:00:05.000Z")"), decode_errc::invalid_value, "metrics.timestamp");
        agent_fails(with_ts(R"("2026-01-01 00:00:05")"), decode_errc::invalid_value, "metrics.timestamp");
        agent_fails(with_ts(R"("2026-01-01T00:00:05.000+01:00")"), decode_errc::invalid_value, "metrics.timestamp");
        agent_fails(with_ts("1767225605000"), decode_errc::wrong_type, "metrics.timestamp: expected ISO 8601");
    }

    TEST_CASE("decode_from_agent: percentages are 0-100")
    {
        CHECK(agent_metrics_ok(metrics_with(R"(,"cpu_percent":0,"memory_percent":100)")).data.memory_percent == 100.0);
        agent_fails(metrics_with(R"(,"cpu_percent":100.5)"), decode_errc::invalid_value,
                    "metrics.cpu_percent: expected number from 0 to 100");
        agent_fails(metrics_with(R"(,"memory_percent":-0.1)"), decode_errc::invalid_value, "metrics.memory_percent");
        agent_fails(metrics_with(R"(,"cpu_percent":"5")"), decode_errc::wrong_type, "metrics.cpu_percent");
        agent_fails(metrics_with(R"(,"cpu_percent":1e400)"), decode_errc::invalid_value, "metrics.cpu_percent");
        agent_fails(metrics_with(R"(,"cpu":{"user":1,"system":2,"iowait":3,"steal":4,"cores":[5,101]})"),
                    decode_errc::invalid_value, "metrics.cpu.cores[1]: expected number from 0 to 100");
        agent_fails(metrics_with(R"(,"disk_usage":[{"mount":"/","device":"d","fs":"ext4","total_bytes":1,)"
                                 R"("used_bytes":1,"percent":200}])"),
                    decode_errc::invalid_value, "metrics.disk_usage[0].percent");
    }

    TEST_CASE("decode_from_agent: load is three non-negative numbers")
    {
        const auto m = agent_metrics_ok(metrics_with(R"(,"load":[0,1.5,20])"));
        CHECK(m.data.load == std::array<double, 3>{0, 1.5, 20});
        agent_fails(metrics_with(R"(,"load":[1,2])"), decode_errc::invalid_value, "metrics.load: expected 3 numbers");
        agent_fails(metrics_with(R"(,"load":[1,2,3,4])"), decode_errc::invalid_value, "metrics.load");
        agent_fails(metrics_with(R"(,"load":[1,-2,3])"), decode_errc::invalid_value, "metrics.load[1]: expected number >= 0");
        agent_fails(metrics_with(R"(,"load":1)"), decode_errc::wrong_type, "metrics.load: expected array");
    }

    TEST_CASE("decode_from_agent: byte counts and uptime are unsigned integers, rates non-negative")
    {
        const std::string mem_ok = R"("total_bytes":8,"used_bytes":4,"available_bytes":4,"swap_total_bytes":0,)";
        CHECK(agent_metrics_ok(metrics_with(",\"memory\":{" + mem_ok + R"("swap_used_bytes":0})")).data.memory
              == memory_stats{8, 4, 4, 0, 0});
        agent_fails(metrics_with(",\"memory\":{" + mem_ok + R"("swap_used_bytes":-5})"), decode_errc::invalid_value,
                    "metrics.memory.swap_used_bytes: expected unsigned integer");
        agent_fails(metrics_with(",\"memory\":{" + mem_ok + R"("swap_used_bytes":1.5})"), decode_errc::invalid_value,
                    "metrics.memory.swap_used_bytes");
        agent_fails(metrics_with(R"(,"uptime_s":-1)"), decode_errc::invalid_value, "metrics.uptime_s");
        agent_fails(metrics_with(R"(,"network":[{"interface":"eth0","rx_bytes_per_s":-1,"tx_bytes_per_s":0,)"
                                 R"("rx_bytes_total":0,"tx_bytes_total":0}])"),
                    decode_errc::invalid_value, "metrics.network[0].rx_bytes_per_s: expected number >= 0");
        agent_fails(metrics_with(R"(,"disk_io":[{"device":"a","read_bytes_per_s":1,"write_bytes_per_s":1},)"
                                 R"({"device":"b","read_bytes_per_s":1,"write_bytes_per_s":-1}])"),
                    decode_errc::invalid_value, "metrics.disk_io[1].write_bytes_per_s");
        // Rates may be fractional.
        const auto m = agent_metrics_ok(metrics_with(R"(,"disk_io":[{"device":"a","read_bytes_per_s":0.5,"write_bytes_per_s":7}])"));
        CHECK(m.data.disk_io[0].read_bytes_per_s == 0.5);
    }

    TEST_CASE("decode_from_agent: a present section needs all its fields")
    {
        agent_fails(metrics_with(R"(,"cpu":{"user":1,"system":2,"iowait":3,"cores":[]})"), decode_errc::missing_field,
                    "metrics.cpu.steal: missing");
        agent_fails(metrics_with(R"(,"cpu":{"user":1,"system":2,"iowait":3,"steal":4})"), decode_errc::missing_field,
                    "metrics.cpu.cores: missing");
        agent_fails(metrics_with(R"(,"memory":{})"), decode_errc::missing_field, "metrics.memory.total_bytes: missing");
        agent_fails(metrics_with(R"(,"disk_usage":[{"mount":"/","device":"d","fs":"ext4","total_bytes":1,"used_bytes":1,)"
                                 R"("percent":1},{"device":"d","fs":"ext4","total_bytes":1,"used_bytes":1,"percent":1}])"),
                    decode_errc::missing_field, "metrics.disk_usage[1].mount: missing");
        agent_fails(metrics_with(R"(,"network":[{"rx_bytes_per_s":1}])"), decode_errc::missing_field,
                    "metrics.network[0].interface: missing");
        agent_fails(metrics_with(R"(,"cpu":[])"), decode_errc::wrong_type, "metrics.cpu: expected object");
        agent_fails(metrics_with(R"(,"disk_usage":{})"), decode_errc::wrong_type, "metrics.disk_usage: expected array");
        agent_fails(metrics_with(R"(,"disk_usage":[1])"), decode_errc::wrong_type, "metrics.disk_usage[0]: expected object");
        agent_fails(metrics_with(R"(,"disk_io":[{"device":7,"read_bytes_per_s":1,"write_bytes_per_s":1}])"),
                    decode_errc::wrong_type, "metrics.disk_io[0].device: expected string");
    }

    TEST_CASE("decode_from_agent: null and empty lists mean not collected")
    {
        const auto m = agent_metrics_ok(metrics_with(
            R"(,"cpu_percent":null,"load":null,"cpu":null,"memory":null,"disk_usage":[],"disk_io":null,"network":[])"));
        CHECK(m.data == sample_at(t_2026_01_01_00_00_05));
        // A required field is never nullable.
        agent_fails(R"({"type":"metrics","server_id":null,"seq":1,"timestamp":"2026-01-01T00:00:05Z"})",
                    decode_errc::wrong_type, "metrics.server_id");
    }

    TEST_CASE("decode_from_agent: array length limits")
    {
        const auto cpu = [](std::size_t n) {
            return metrics_with(R"(,"cpu":{"user":1,"system":2,"iowait":3,"steal":4,"cores":[)" + repeat("50", n) + "]}");
        };
        CHECK(agent_metrics_ok(cpu(4096)).data.cpu->cores.size() == 4096);
        agent_fails(cpu(4097), decode_errc::invalid_value, "metrics.cpu.cores: more than 4096 entries");

        const std::string io = R"({"device":"d","read_bytes_per_s":1,"write_bytes_per_s":1})";
        CHECK(agent_metrics_ok(metrics_with(R"(,"disk_io":[)" + repeat(io, 1024) + "]")).data.disk_io.size() == 1024);
        agent_fails(metrics_with(R"(,"disk_io":[)" + repeat(io, 1025) + "]"), decode_errc::invalid_value,
                    "metrics.disk_io: more than 1024 entries");
        const std::string du = R"({"mount":"/","device":"d","fs":"f","total_bytes":1,"used_bytes":1,"percent":1})";
        agent_fails(metrics_with(R"(,"disk_usage":[)" + repeat(du, 1025) + "]"), decode_errc::invalid_value,
                    "metrics.disk_usage: more than 1024 entries");
        const std::string net = R"({"interface":"i","rx_bytes_per_s":1,"tx_bytes_per_s":1,"rx_bytes_total":1,"tx_bytes_total":1})";
        agent_fails(metrics_with(R"(,"network":[)" + repeat(net, 1025) + "]"), decode_errc::invalid_value,
                    "metrics.network: more than 1024 entries");
    }

    TEST_CASE("decode_from_agent: ping, pong and error")
    {
        auto r = decode_from_agent(R"({"type":"ping","extra":1})");
        REQUIRE(r.has_value());
        CHECK(std::holds_alternative<ping>(*r));
        r = decode_from_agent(R"({"type":"pong"})");
        REQUIRE(r.has_value());
        CHECK(std::get<pong>(*r).timestamp_ms == 0);
        agent_fails(R"({"type":"pong","timestamp":"yesterday"})", decode_errc::invalid_value, "pong.timestamp");
        r = decode_from_agent(R"({"type":"error","code":"internal_error","message":"disk full"})");
        REQUIRE(r.has_value());
        CHECK(std::get<error>(*r) == error{"internal_error", "disk full", std::nullopt});
        agent_fails(R"({"type":"error","message":"m"})", decode_errc::missing_field, "error.code: missing");
    }

    // ---- collector -> agent ---------------------------------------------------------------

    TEST_CASE("decode_from_collector: auth_success, message optional")
    {
        auto r = decode_from_collector(R"({"type":"auth_success","server_id":"id-1"})");
        REQUIRE(r.has_value());
        CHECK(std::get<auth_success>(*r) == auth_success{"id-1", ""});
        check_fails(decode_from_collector(R"({"type":"auth_success","message":"hi"})"), decode_errc::missing_field,
                    "auth_success.server_id: missing");
    }

    TEST_CASE("decode_from_collector: ack with default and explicit stream")
    {
        auto r = decode_from_collector(R"({"type":"ack","seq":12})");
        REQUIRE(r.has_value());
        CHECK(std::get<ack>(*r) == ack{12, "metrics"});
        r = decode_from_collector(R"({"stream":"logs","seq":3,"type":"ack"})");
        REQUIRE(r.has_value());
        CHECK(std::get<ack>(*r) == ack{3, "logs"});
        check_fails(decode_from_collector(R"({"type":"ack"})"), decode_errc::missing_field, "ack.seq: missing");
        check_fails(decode_from_collector(R"({"type":"ack","seq":0})"), decode_errc::invalid_value, "ack.seq");
        check_fails(decode_from_collector(R"({"type":"ack","seq":-3})"), decode_errc::invalid_value,
                    "ack.seq: expected unsigned integer");
    }

    TEST_CASE("decode_from_collector: error retry_after is unsigned 32-bit seconds")
    {
        auto r = decode_from_collector(R"({"type":"error","code":"rate_limited","message":"m","retry_after":4294967295})");
        REQUIRE(r.has_value());
        CHECK(std::get<error>(*r).retry_after_s == 4294967295u);
        check_fails(decode_from_collector(R"({"type":"error","code":"c","message":"m","retry_after":4294967296})"),
                    decode_errc::invalid_value, "error.retry_after: expected unsigned integer");
        check_fails(decode_from_collector(R"({"type":"error","code":"c","message":"m","retry_after":-1})"),
                    decode_errc::invalid_value, "error.retry_after");
        check_fails(decode_from_collector(R"({"type":"error","code":"c","message":"m","retry_after":"5"})"),
                    decode_errc::wrong_type, "error.retry_after");
        r = decode_from_collector(R"({"type":"error","code":"c","message":"m","retry_after":null})");
        REQUIRE(r.has_value());
        CHECK_FALSE(std::get<error>(*r).retry_after_s.has_value());
    }

    // ---- frontend -> collector ------------------------------------------------------------

    TEST_CASE("decode_from_frontend: auth needs a token")
    {
        auto r = decode_from_frontend(R"({"type":"auth","token":"jwt"})");
        REQUIRE(r.has_value());
        CHECK(std::get<frontend_auth>(*r).token == "jwt");
        check_fails(decode_from_frontend(R"({"type":"auth","api_key":"k"})"), decode_errc::missing_field,
                    "auth.token: missing");
        check_fails(decode_from_frontend(R"({"type":"auth","token":")" + std::string(4097, 't') + R"("})"),
                    decode_errc::invalid_value, "auth.token: longer than 4096 bytes");
    }

    TEST_CASE("decode_from_frontend: subscribe, every field optional")
    {
        auto r = decode_from_frontend(R"({"type":"subscribe"})");
        REQUIRE(r.has_value());
        CHECK(std::get<subscribe>(*r) == subscribe{});
        r = decode_from_frontend(R"({"type":"subscribe","metrics":[],"min_interval_ms":null})");
        REQUIRE(r.has_value());
        CHECK(std::get<subscribe>(*r) == subscribe{});
        // Range checks and metric names belong to the collector: the codec passes them through.
        r = decode_from_frontend(R"({"type":"subscribe","metrics":["bogus"],"min_interval_ms":-5,"history_s":999999})");
        REQUIRE(r.has_value());
        CHECK(std::get<subscribe>(*r) == subscribe{{"bogus"}, -5, 999999});
    }

    TEST_CASE("decode_from_frontend: subscribe field types and limits")
    {
        const auto sub = [](const std::string& fields) { return R"({"type":"subscribe",)" + fields + "}"; };
        check_fails(decode_from_frontend(sub(R"("metrics":"cpu")")), decode_errc::wrong_type,
                    "subscribe.metrics: expected array");
        check_fails(decode_from_frontend(sub(R"("metrics":["cpu",7])")), decode_errc::wrong_type,
                    "subscribe.metrics[1]: expected string");
        check_fails(decode_from_frontend(sub(R"("min_interval_ms":2000.5)")), decode_errc::invalid_value,
                    "subscribe.min_interval_ms: expected integer");
        check_fails(decode_from_frontend(sub(R"("history_s":"600")")), decode_errc::wrong_type, "subscribe.history_s");
        check_fails(decode_from_frontend(sub(R"("history_s":9223372036854775808)")), decode_errc::invalid_value,
                    "subscribe.history_s");
        CHECK(decode_from_frontend(sub(R"("metrics":[)" + repeat(R"("cpu")", 64) + "]")).has_value());
        check_fails(decode_from_frontend(sub(R"("metrics":[)" + repeat(R"("cpu")", 65) + "]")),
                    decode_errc::invalid_value, "subscribe.metrics: more than 64 entries");
    }

    // ---- decode_sample_data ---------------------------------------------------------------

    TEST_CASE("decode_sample_data: the stored data object")
    {
        auto r = decode_sample_data(R"({"timestamp":"2026-01-01T00:00:05.000Z","cpu_percent":3})");
        REQUIRE(r.has_value());
        CHECK(r->timestamp_ms == t_2026_01_01_00_00_05);
        CHECK(r->cpu_percent == 3.0);
        // Message-level fields mean nothing here and are ignored.
        CHECK(decode_sample_data(R"({"type":"x","seq":-1,"timestamp":"2026-01-01T00:00:05Z"})").has_value());
        check_fails(decode_sample_data(R"({"cpu_percent":3})"), decode_errc::missing_field, "data.timestamp: missing");
        check_fails(decode_sample_data(R"({"timestamp":"2026-01-01T00:00:05Z","memory_percent":101})"),
                    decode_errc::invalid_value, "data.memory_percent");
    }

    // ---- robustness -----------------------------------------------------------------------

    TEST_CASE("decode: mutated golden frames fail with a message, or re-encode to what they decoded to")
    {
        std::vector<std::string> seeds;
        for (const char* name : {"auth.json", "metrics_full.json", "metrics_minimal.json", "ack_stream.json",
                                 "error_retry_after.json", "pong.json", "subscribe.json", "auth_success.json",
                                 "command_output.json", "command_response_refused.json", "docker_response.json",
                                 "metrics_containers.json", "log.json", "gap.json"})
            seeds.push_back(corvid::proto::test::read_golden(name));
        std::mt19937 rng(20260101); // fixed: the same inputs on every run
        const std::string pool = "{}[]\",:0123456789-.eE\\ntrufalsnul \xff\xc3";
        int decoded = 0;
        for (int i = 0; i < 3000; ++i) {
            std::string s = seeds[rng() % seeds.size()];
            for (unsigned k = 1 + rng() % 3; k > 0 && !s.empty(); --k) {
                const std::size_t pos = rng() % s.size();
                switch (rng() % 4) {
                case 0: s[pos] = pool[rng() % pool.size()]; break;
                case 1: s.erase(pos, 1 + rng() % 3); break;
                case 2: s.insert(pos, 1, pool[rng() % pool.size()]); break;
                default: s.resize(pos); break;
                }
            }
            INFO(s);
            const auto agent = decode_from_agent(s);
            if (!agent) {
                CHECK_FALSE(agent.error().message.empty());
                continue;
            }
            ++decoded;
            std::visit(
                [&](const auto& m) {
                    using T = std::decay_t<decltype(m)>;
                    if constexpr (!std::is_same_v<T, ping>) {
                        const auto again = decode_from_agent(encode(m));
                        REQUIRE(again.has_value());
                        CHECK((std::get<T>(*again) == m));
                    }
                },
                *agent);
        }
        CHECK(decoded > 0); // some mutations (inside strings, digits) stay valid
    }

    // ---- threads --------------------------------------------------------------------------

    TEST_CASE("decode: threads decode independently (each has its own parser)")
    {
        const auto json = corvid::proto::test::read_golden("metrics_full.json");
        std::vector<std::thread> threads;
        std::vector<int> ok(4, 0);
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] {
                for (int i = 0; i < 200; ++i) {
                    auto r = decode_from_agent(json);
                    auto bad = decode_from_agent(R"({"type":"metrics"})");
                    if (r && std::get<metrics>(*r).data == corvid::proto::test::full_sample() && !bad)
                        ++ok[static_cast<std::size_t>(t)];
                }
            });
        for (auto& th : threads)
            th.join();
        CHECK(ok == std::vector<int>(4, 200));
    }
}
