#include "proto/codec.hpp"

#include <doctest/doctest.h>
#include <limits>
#include <simdjson.h>
#include <string>
#include <variant>

#include "common/json_text.hpp"
#include "samples.hpp"

using namespace corvid::proto;
using corvid::proto::test::full_sample;
using corvid::proto::test::server_id;
using corvid::proto::test::sample_at;
using corvid::proto::test::t_2026_01_01_00_00_05;

namespace {
// True when simdjson's DOM parser (a full validator, independent of our decoder) accepts `json`.
bool is_valid_json(const std::string& json)
{
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    return parser.parse(json).get(root) == simdjson::SUCCESS;
}

metrics agent_metrics(sample_data data, std::uint64_t seq = 1)
{
    return metrics{server_id, seq, std::move(data)};
}
} // namespace

TEST_SUITE("proto.encode")
{
    TEST_CASE("encode: fixed messages")
    {
        CHECK(encode(ping{}) == R"({"type":"ping"})");
        CHECK(encode(ack{5, "metrics"}) == R"({"type":"ack","seq":5})");
        CHECK(encode(ack{5, "logs"}) == R"({"type":"ack","seq":5,"stream":"logs"})");
        CHECK(encode(frontend_auth{"t"}) == R"({"type":"auth","token":"t"})");
    }

    TEST_CASE("encode: pong writes its timestamp, and omits it when 0 (absent)")
    {
        CHECK(encode(pong{t_2026_01_01_00_00_05}) == R"({"type":"pong","timestamp":"2026-01-01T00:00:05.000Z"})");
        CHECK(encode(pong{}) == R"({"type":"pong"})");
    }

    TEST_CASE("encode: error with and without retry_after")
    {
        CHECK(encode(error{"invalid_message", "bad", std::nullopt})
              == R"({"type":"error","code":"invalid_message","message":"bad"})");
        CHECK(encode(error{"rate_limited", "slow down", 0})
              == R"({"type":"error","code":"rate_limited","message":"slow down","retry_after":0})");
    }

    TEST_CASE("encode: auth_success omits an empty message")
    {
        CHECK(encode(auth_success{"id", ""}) == R"({"type":"auth_success","server_id":"id"})");
    }

    TEST_CASE("encode: subscribe omits what is absent")
    {
        CHECK(encode(subscribe{}) == R"({"type":"subscribe"})");
        CHECK(encode(subscribe{{}, 100, std::nullopt}) == R"({"type":"subscribe","min_interval_ms":100})");
        CHECK(encode(subscribe{{"cpu"}, std::nullopt, 0}) == R"({"type":"subscribe","metrics":["cpu"],"history_s":0})");
    }

    TEST_CASE("encode: metrics omits nullopt sections and empty lists")
    {
        auto s = sample_at(t_2026_01_01_00_00_05);
        CHECK(encode(agent_metrics(s, 3))
              == R"({"type":"metrics","server_id":"7f3c9a2e-1b4d-4e8a-9c6f-2d5e8b1a0c3f","seq":3,)"
                 R"("timestamp":"2026-01-01T00:00:05.000Z"})");
        s.uptime_s = 0; // present and zero is not absent
        CHECK(encode_sample_data(s) == R"({"timestamp":"2026-01-01T00:00:05.000Z","uptime_s":0})");
    }

    TEST_CASE("encode: a present cpu section writes an empty core list as []")
    {
        auto s = sample_at(0);
        s.cpu = cpu_stats{1, 2, 3, 4, {}};
        CHECK(encode_sample_data(s)
              == R"({"timestamp":"1970-01-01T00:00:00.000Z","cpu":{"user":1,"system":2,"iowait":3,"steal":4,"cores":[]}})");
    }

    TEST_CASE("encode_sample_data: the mask selects sections, timestamp always stays")
    {
        const auto s = full_sample();
        CHECK(encode_sample_data(s, 0) == R"({"timestamp":"2026-01-01T00:00:05.000Z"})");
        CHECK(encode_sample_data(s, mask_of(sample_field::load) | mask_of(sample_field::disk_io))
              == R"({"timestamp":"2026-01-01T00:00:05.000Z","load":[0.52,0.61,0.7],)"
                 R"("disk_io":[{"device":"vda","read_bytes_per_s":4096,"write_bytes_per_s":125829.12}]})");
        CHECK(encode_sample_data(s, all_fields) == encode_sample_data(s));
    }

    TEST_CASE("encode_frontend_metrics: equals the collector's composition from stored data")
    {
        for (const field_mask mask : {all_fields, mask_of(sample_field::cpu), field_mask{0}}) {
            const auto s = full_sample();
            const std::string id = "srv \"quoted\"";
            CHECK(encode_frontend_metrics(id, s, mask)
                  == R"({"type":"metrics","server_id":)" + corvid::json_string(id) + R"(,"data":)"
                         + encode_sample_data(s, mask) + "}");
        }
    }

    TEST_CASE("encode_history: oldest first as given, empty history is []")
    {
        CHECK(encode_history({}) == R"({"type":"history","data":[]})");
        CHECK(encode_history({sample_at(1000), sample_at(2000)}, 0)
              == R"({"type":"history","data":[{"timestamp":"1970-01-01T00:00:01.000Z"},)"
                 R"({"timestamp":"1970-01-01T00:00:02.000Z"}]})");
    }

    TEST_CASE("encode_status: online and offline, last_seen null when unknown")
    {
        CHECK(encode_status(false, std::nullopt) == R"({"type":"status","data":{"online":false,"last_seen":null}})");
        CHECK(encode_status(false, 0) == R"({"type":"status","data":{"online":false,"last_seen":"1970-01-01T00:00:00.000Z"}})");
    }

    TEST_CASE("encode: ill-formed UTF-8 and control characters still give valid JSON")
    {
        const std::string nasty = std::string("a\"b\\c\n\x01\x7f", 9) + "\xFF\xC3" + "caf\xC3\xA9";
        auth_request a{nasty, nasty, nasty};
        const auto text = encode(a);
        REQUIRE(is_valid_json(text));
        const auto back = decode_from_agent(text);
        REQUIRE(back.has_value());
        CHECK(std::get<auth_request>(*back).hostname == corvid::make_valid_utf8(nasty));

        auto s = full_sample();
        s.disk_usage[0].mount = nasty;
        s.network[0].interface = std::string("\0x", 2);
        const auto m = encode(agent_metrics(s));
        REQUIRE(is_valid_json(m));
        const auto decoded = decode_from_agent(m);
        REQUIRE(decoded.has_value());
        CHECK(std::get<metrics>(*decoded).data.network[0].interface == std::string("\0x", 2));
    }

    TEST_CASE("encode: non-finite doubles are written as 0, never as NaN or inf")
    {
        auto s = sample_at(0);
        s.cpu_percent = std::numeric_limits<double>::quiet_NaN();
        s.load = std::array<double, 3>{std::numeric_limits<double>::infinity(), 1, 2};
        const auto text = encode_sample_data(s);
        CHECK(is_valid_json(text));
        CHECK(text == R"({"timestamp":"1970-01-01T00:00:00.000Z","cpu_percent":0,"load":[0,1,2]})");
    }

    TEST_CASE("encode/decode: round trips keep every value exactly")
    {
        auto s = full_sample();
        s.cpu->cores = {0, 100, 1e-9, 33.333333333333336, 99.99999999999999};
        s.memory->total_bytes = std::numeric_limits<std::uint64_t>::max();
        s.uptime_s = std::numeric_limits<std::uint64_t>::max();
        s.load = std::array<double, 3>{1e300, 0, 5e-324};
        s.timestamp_ms = -1; // 1969-12-31T23:59:59.999Z
        const auto m = agent_metrics(s, std::numeric_limits<std::uint64_t>::max());
        const auto back = decode_from_agent(encode(m));
        REQUIRE_MESSAGE(back.has_value(), (back ? "" : back.error().message));
        CHECK(std::get<metrics>(*back) == m);

        const auto data = decode_sample_data(encode_sample_data(s));
        REQUIRE(data.has_value());
        CHECK(*data == s);

        const subscribe sub{{"cpu", "network"}, -5, 86400};
        const auto sub_back = decode_from_frontend(encode(sub));
        REQUIRE(sub_back.has_value());
        CHECK(std::get<subscribe>(*sub_back) == sub);
    }

    TEST_CASE("sample_field_from_name: the enum's names, nothing else")
    {
        CHECK(sample_field_from_name("cpu_percent") == sample_field::cpu_percent);
        CHECK(sample_field_from_name("memory_percent") == sample_field::memory_percent);
        CHECK(sample_field_from_name("load") == sample_field::load);
        CHECK(sample_field_from_name("uptime_s") == sample_field::uptime_s);
        CHECK(sample_field_from_name("cpu") == sample_field::cpu);
        CHECK(sample_field_from_name("memory") == sample_field::memory);
        CHECK(sample_field_from_name("disk_usage") == sample_field::disk_usage);
        CHECK(sample_field_from_name("disk_io") == sample_field::disk_io);
        CHECK(sample_field_from_name("network") == sample_field::network);
        CHECK_FALSE(sample_field_from_name("timestamp").has_value());
        CHECK_FALSE(sample_field_from_name("CPU").has_value());
        CHECK_FALSE(sample_field_from_name("").has_value());
    }
}
