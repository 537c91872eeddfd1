#include "proto/codec.hpp"

#include <doctest/doctest.h>
#include <string>
#include <variant>

#include "common/json_text.hpp"
#include "samples.hpp"

using namespace corvid::proto;
using corvid::proto::test::decode_as;
using corvid::proto::test::full_sample;
using corvid::proto::test::read_golden;
using corvid::proto::test::server_id;
using corvid::proto::test::sample_at;
using corvid::proto::test::t_2026_01_01_00_00_05;

TEST_SUITE("proto.golden")
{
    TEST_CASE("golden auth.json: agent auth decodes and re-encodes byte for byte")
    {
        const auto text = read_golden("auth.json");
        const auto m = decode_as<auth_request>(decode_from_agent, text);
        CHECK(m.api_key == "cvd_4f9a1c2e8b7d6a5f4e3d2c1b0a9f8e7d");
        CHECK(m.agent_version == "0.1.0");
        CHECK(m.hostname == "web-01");
        CHECK(encode(m) == text);
    }

    TEST_CASE("golden auth_success.json")
    {
        const auto text = read_golden("auth_success.json");
        const auto m = decode_as<auth_success>(decode_from_collector, text);
        CHECK(m.server_id == server_id);
        CHECK(m.message == "Connected successfully");
        CHECK(encode(m) == text);
        CHECK(encode(auth_success{server_id, "Connected successfully"}) == text); // the struct's default text is the wire's
    }

    TEST_CASE("golden error.json and error_retry_after.json")
    {
        const auto text = read_golden("error.json");
        const auto m = decode_as<error>(decode_from_collector, text);
        CHECK(m.code == "auth_failed");
        CHECK(m.message == "Invalid or inactive API key");
        CHECK_FALSE(m.retry_after_s.has_value());
        CHECK(encode(m) == text);
        CHECK(encode(decode_as<error>(decode_from_agent, text)) == text);

        const auto text2 = read_golden("error_retry_after.json");
        const auto m2 = decode_as<error>(decode_from_collector, text2);
        CHECK(m2.code == "rate_limited");
        REQUIRE(m2.retry_after_s.has_value());
        CHECK(*m2.retry_after_s == 30);
        CHECK(encode(m2) == text2);
    }

    TEST_CASE("golden metrics_full.json: every section decodes to the expected values")
    {
        const auto text = read_golden("metrics_full.json");
        const auto m = decode_as<metrics>(decode_from_agent, text);
        CHECK(m.server_id == server_id);
        CHECK(m.seq == 42);
        const auto& d = m.data;
        CHECK(d.timestamp_ms == t_2026_01_01_00_00_05);
        CHECK(d.cpu_percent == 12.5);
        CHECK(d.memory_percent == 43.25);
        REQUIRE(d.load.has_value());
        CHECK((*d.load)[0] == 0.52);
        CHECK((*d.load)[2] == 0.7);
        CHECK(d.uptime_s == 86400u);
        REQUIRE(d.cpu.has_value());
        CHECK(d.cpu->steal == 0.25);
        CHECK(d.cpu->cores == std::vector<double>{10, 15.5, 12.25, 12.25});
        REQUIRE(d.memory.has_value());
        CHECK(d.memory->total_bytes == 8589934592u);
        CHECK(d.memory->swap_used_bytes == 0u);
        REQUIRE(d.disk_usage.size() == 2);
        CHECK(d.disk_usage[1].mount == "/var/lib/data");
        CHECK(d.disk_usage[1].fs == "xfs");
        CHECK(d.disk_usage[1].total_bytes == 536870912000u);
        REQUIRE(d.disk_io.size() == 1);
        CHECK(d.disk_io[0].write_bytes_per_s == 125829.12);
        REQUIRE(d.network.size() == 2);
        CHECK(d.network[0].interface == "eth0");
        CHECK(d.network[0].rx_bytes_total == 987654321u);
        CHECK(d == full_sample());
        CHECK(encode(m) == text);
    }

    TEST_CASE("golden metrics_minimal.json: only the required fields")
    {
        const auto text = read_golden("metrics_minimal.json");
        const auto m = decode_as<metrics>(decode_from_agent, text);
        CHECK(m.seq == 1);
        CHECK(m.data.timestamp_ms == t_2026_01_01_00_00_05 - 5000);
        CHECK(m.data == sample_at(m.data.timestamp_ms));
        CHECK(encode(m) == text);
    }

    TEST_CASE("golden ack.json and ack_stream.json")
    {
        const auto text = read_golden("ack.json");
        const auto m = decode_as<ack>(decode_from_collector, text);
        CHECK(m.seq == 42);
        CHECK(m.stream == "metrics");
        CHECK(encode(m) == text);

        const auto text2 = read_golden("ack_stream.json");
        const auto m2 = decode_as<ack>(decode_from_collector, text2);
        CHECK(m2.seq == 7);
        CHECK(m2.stream == "logs");
        CHECK(encode(m2) == text2);
    }

    TEST_CASE("golden ping.json and pong.json, from every side")
    {
        const auto ping_text = read_golden("ping.json");
        decode_as<ping>(decode_from_agent, ping_text);
        decode_as<ping>(decode_from_collector, ping_text);
        decode_as<ping>(decode_from_frontend, ping_text);
        CHECK(encode(ping{}) == ping_text);

        const auto pong_text = read_golden("pong.json");
        for (auto p : {decode_as<pong>(decode_from_agent, pong_text), decode_as<pong>(decode_from_collector, pong_text),
                       decode_as<pong>(decode_from_frontend, pong_text)}) {
            CHECK(p.timestamp_ms == t_2026_01_01_00_00_05 + 123);
            CHECK(encode(p) == pong_text);
        }
    }

    TEST_CASE("golden frontend_auth.json")
    {
        const auto text = read_golden("frontend_auth.json");
        const auto m = decode_as<frontend_auth>(decode_from_frontend, text);
        CHECK(m.token == "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl");
        CHECK(encode(m) == text);
    }

    TEST_CASE("golden subscribe.json")
    {
        const auto text = read_golden("subscribe.json");
        const auto m = decode_as<subscribe>(decode_from_frontend, text);
        CHECK(m.metrics == std::vector<std::string>{"cpu_percent", "memory_percent", "load"});
        CHECK(m.min_interval_ms == 2000);
        CHECK(m.history_s == 600);
        CHECK(encode(m) == text);
    }

    TEST_CASE("golden frontend_metrics.json: encoder output and the stored-data composition")
    {
        const auto text = read_golden("frontend_metrics.json");
        CHECK(encode_frontend_metrics(server_id, full_sample()) == text);
        // The collector stores encode_sample_data() and wraps it; that must give the same bytes.
        const auto stored = encode_sample_data(full_sample());
        CHECK(R"({"type":"metrics","server_id":)" + corvid::json_string(server_id) + R"(,"data":)" + stored + "}"
              == text);
        // The "data" object decodes back to the sample.
        const auto prefix = std::string(R"({"type":"metrics","server_id":")") + server_id + R"(","data":)";
        REQUIRE(text.starts_with(prefix));
        const auto data = decode_sample_data(std::string_view(text).substr(prefix.size(), text.size() - prefix.size() - 1));
        REQUIRE(data.has_value());
        CHECK(*data == full_sample());
    }

    TEST_CASE("golden history.json: oldest first")
    {
        const auto text = read_golden("history.json");
        auto a = sample_at(t_2026_01_01_00_00_05 - 5000), b = sample_at(t_2026_01_01_00_00_05);
        a.cpu_percent = 10;
        a.memory_percent = 40;
        b.cpu_percent = 12.5;
        b.memory_percent = 43.25;
        b.uptime_s = 3600; // not selected below, so not written
        const auto mask = mask_of(sample_field::cpu_percent) | mask_of(sample_field::memory_percent);
        CHECK(encode_history({a, b}, mask) == text);
    }

    TEST_CASE("golden status.json")
    {
        CHECK(encode_status(true, t_2026_01_01_00_00_05) == read_golden("status.json"));
    }

    TEST_CASE("golden log.json: a batch of log entries decodes and re-encodes byte for byte")
    {
        const auto text = read_golden("log.json");
        const auto m = decode_as<log_batch>(decode_from_agent, text);
        CHECK(m.seq == 7);
        REQUIRE(m.entries.size() == 2);
        CHECK(m.entries[0] == log_entry{t_2026_01_01_00_00_05, "ERROR", "/var/log/nginx/error.log",
                                        "connect() failed (111: Connection refused) while connecting to upstream, "
                                        "upstream: \"http://127.0.0.1:8080/\"",
                                        false});
        CHECK(m.entries[1].timestamp_ms == t_2026_01_01_00_00_05 + 123);
        CHECK(m.entries[1].level == "INFO");
        CHECK(m.entries[1].source == "journal:sshd.service");
        CHECK(m.entries[1].message == "Accepted publickey for deploy from 10.0.0.7 port 51514\tssh2");
        CHECK(m.entries[1].truncated);
        CHECK(encode(m) == text);
    }

    TEST_CASE("golden gap.json")
    {
        const auto text = read_golden("gap.json");
        const auto m = decode_as<gap>(decode_from_agent, text);
        CHECK(m == gap{"logs", 120, 180, 61, t_2026_01_01_00_00_05, t_2026_01_01_00_00_05 + 600'000, "spool_full"});
        CHECK(encode(m) == text);
    }

    TEST_CASE("golden log_subscribe.json: the logs socket's subscribe")
    {
        const auto text = read_golden("log_subscribe.json");
        const auto m = decode_as<log_subscribe>(decode_from_log_frontend, text);
        CHECK(m == log_subscribe{"WARN", "timeout", "/var/log/syslog", 100});
        CHECK(encode(m) == text);
    }

    TEST_CASE("golden frontend_log.json and dropped.json: what a logs socket receives")
    {
        const log_entry e{t_2026_01_01_00_00_05, "ERROR", "/var/log/nginx/error.log",
                          "upstream timed out (110: Connection timed out)", false};
        CHECK(encode_frontend_log(e) == read_golden("frontend_log.json"));
        CHECK(R"({"type":"log","data":)" + encode_log_entry(e) + "}" == read_golden("frontend_log.json"));
        CHECK(encode_dropped(1234) == read_golden("dropped.json"));
    }
}
