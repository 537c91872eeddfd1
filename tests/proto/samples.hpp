#pragma once
// Shared fixtures for the proto tests: the sample that tests/golden/metrics_full.json and
// frontend_metrics.json hold, and a reader for the golden files. Test code, single-threaded.
#include <doctest/doctest.h>
#include <string>
#include <variant>

#include "common/file_util.hpp"
#include "common/time_format.hpp"
#include "proto/codec.hpp"
#include "proto/messages.hpp"

namespace corvid::proto::test {

inline constexpr const char* server_id = "7f3c9a2e-1b4d-4e8a-9c6f-2d5e8b1a0c3f";

// 2026-01-01T00:00:05.000Z, written out independently of parse_iso8601_ms.
inline constexpr std::int64_t t_2026_01_01_00_00_05 = 1'767'225'605'000;

// A sample with only its timestamp: what a minimal agent sends.
inline sample_data sample_at(std::int64_t timestamp_ms)
{
    sample_data s;
    s.timestamp_ms = timestamp_ms;
    return s;
}

inline sample_data full_sample()
{
    sample_data s;
    s.timestamp_ms = t_2026_01_01_00_00_05;
    s.cpu_percent = 12.5;
    s.memory_percent = 43.25;
    s.load = std::array<double, 3>{0.52, 0.61, 0.7};
    s.uptime_s = 86400;
    s.cpu = cpu_stats{8.5, 3.25, 0.5, 0.25, {10, 15.5, 12.25, 12.25}};
    s.memory = memory_stats{8589934592, 3715891200, 4874043392, 2147483648, 0};
    s.disk_usage = {{"/", "/dev/vda1", "ext4", 107374182400, 42949672960, 40},
                    {"/var/lib/data", "/dev/vdb", "xfs", 536870912000, 134217728000, 25}};
    s.disk_io = {{"vda", 4096, 125829.12}};
    s.network = {{"eth0", 1536.5, 2048, 987654321, 123456789}, {"lo", 0, 0, 1024, 1024}};
    return s;
}

// The golden file's text without its one trailing newline.
inline std::string read_golden(const std::string& name)
{
    auto text = corvid::read_file(std::string(CORVID_SOURCE_DIR) + "/tests/golden/" + name);
    REQUIRE_MESSAGE(text.has_value(), "cannot read tests/golden/" << name);
    std::string s = std::move(*text);
    if (!s.empty() && s.back() == '\n')
        s.pop_back();
    return s;
}

// Decodes `text` with `decode`, requires alternative T and returns it.
template <class T, class Decode> T decode_as(Decode decode, const std::string& text)
{
    auto r = decode(text);
    REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? std::string() : r.error().message));
    REQUIRE(std::holds_alternative<T>(*r));
    return std::get<T>(*r);
}

// Decoding must fail with `code`, and the message must contain `fragment` (usually the field).
template <class Result> void check_fails(const Result& r, decode_errc code, const std::string& fragment)
{
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == code);
    CHECK_MESSAGE(r.error().message.find(fragment) != std::string::npos,
                  "message '" << r.error().message << "' lacks '" << fragment << "'");
}

} // namespace corvid::proto::test
