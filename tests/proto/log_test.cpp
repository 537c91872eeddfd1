// Logs and gaps on the wire (PROTOCOL.md section 11): the agent's log batches and gap reports, the
// logs socket's subscribe, and what the collector sends on that socket.
#include "proto/codec.hpp"

#include <doctest/doctest.h>
#include <simdjson.h>
#include <string>
#include <variant>

#include "samples.hpp"

using namespace corvid::proto;
using corvid::proto::test::check_fails;
using corvid::proto::test::t_2026_01_01_00_00_05;

namespace {
const std::string entry_ok =
    R"({"timestamp":"2026-01-01T00:00:05.000Z","level":"INFO","source":"/var/log/syslog","message":"m"})";

std::string batch_of(const std::string& entries, std::uint64_t seq = 1)
{
    return R"({"type":"log","seq":)" + std::to_string(seq) + R"(,"entries":[)" + entries + "]}";
}

// One entry with `field` replaced (or added) by `json`, e.g. entry_with("level", "\"LOUD\"").
std::string entry_with(const std::string& field, const std::string& json)
{
    std::string e = entry_ok;
    const auto at = e.find("\"" + field + "\":");
    if (at == std::string::npos) {
        e.insert(e.size() - 1, ",\"" + field + "\":" + json);
        return e;
    }
    const auto value = at + field.size() + 3;
    const auto end = e.find_first_of(",}", e[value] == '"' ? e.find('"', value + 1) : value);
    return e.replace(value, end - value, json);
}

std::string repeat(const std::string& item, std::size_t n)
{
    std::string out;
    for (std::size_t i = 0; i < n; ++i)
        out += (i ? "," : "") + item;
    return out;
}

log_batch batch_ok(const std::string& json)
{
    INFO(json.substr(0, 200));
    auto r = decode_from_agent(json);
    REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message));
    REQUIRE(std::holds_alternative<log_batch>(*r));
    return std::get<log_batch>(*r);
}

// The alternative T of a decode result that must have succeeded.
template <class T, class Result> T ok_as(const Result& r)
{
    REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message));
    REQUIRE(std::holds_alternative<T>(*r));
    return std::get<T>(*r);
}

std::string gap_with(const std::string& fields) { return R"({"type":"gap",)" + fields + "}"; }
const std::string gap_required = R"("stream":"metrics","first_seq":3,"last_seq":5,"count":3,"reason":"spool_full")";

bool is_valid_json(const std::string& json)
{
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    return parser.parse(json).get(root) == simdjson::SUCCESS;
}
} // namespace

TEST_SUITE("proto.logs")
{
    TEST_CASE("log_level: the six wire names, in order, and nothing else")
    {
        CHECK(log_level_from_name("DEBUG") == log_level::debug);
        CHECK(log_level_from_name("NOTICE") == log_level::notice);
        CHECK(log_level_from_name("CRIT") == log_level::crit);
        CHECK_FALSE(log_level_from_name("warn").has_value());
        CHECK_FALSE(log_level_from_name("WARNING").has_value());
        CHECK_FALSE(log_level_from_name("").has_value());
        CHECK(log_level_name(log_level::warn) == "WARN");
        CHECK(log_level::debug < log_level::info);
        CHECK(log_level::error < log_level::crit);
    }

    TEST_CASE("decode_from_agent: a log batch, truncated optional")
    {
        const auto b = batch_ok(batch_of(entry_ok + "," + entry_with("truncated", "true"), 42));
        CHECK(b.seq == 42);
        REQUIRE(b.entries.size() == 2);
        CHECK(b.entries[0] == log_entry{t_2026_01_01_00_00_05, "INFO", "/var/log/syslog", "m", false});
        CHECK(b.entries[1].truncated);
        CHECK(batch_ok(batch_of(entry_with("truncated", "null"))).entries[0].truncated == false);
        // An empty message and an empty source are lines too (a blank line in a file).
        CHECK(batch_ok(batch_of(entry_with("message", R"("")"))).entries[0].message.empty());
    }

    TEST_CASE("decode_from_agent: log batch fields name the offending one")
    {
        check_fails(decode_from_agent(R"({"type":"log","entries":[)" + entry_ok + "]}"), decode_errc::missing_field,
                    "log.seq: missing");
        check_fails(decode_from_agent(R"({"type":"log","seq":1})"), decode_errc::missing_field, "log.entries: missing");
        check_fails(decode_from_agent(batch_of(entry_ok, 0)), decode_errc::invalid_value,
                    "log.seq: must be at least 1");
        check_fails(decode_from_agent(R"({"type":"log","seq":-1,"entries":[)" + entry_ok + "]}"),
                    decode_errc::invalid_value, "log.seq");
        check_fails(decode_from_agent(batch_of("")), decode_errc::invalid_value, "log.entries: must not be empty");
        check_fails(decode_from_agent(R"({"type":"log","seq":1,"entries":{}})"), decode_errc::wrong_type,
                    "log.entries: expected array");
        check_fails(decode_from_agent(batch_of(entry_ok + ",7")), decode_errc::wrong_type,
                    "log.entries[1]: expected object");
        check_fails(decode_from_agent(batch_of(entry_with("level", R"("LOUD")"))), decode_errc::invalid_value,
                    "log.entries[0].level: expected DEBUG, INFO, NOTICE, WARN, ERROR or CRIT");
        check_fails(decode_from_agent(batch_of(entry_with("level", R"("info")"))), decode_errc::invalid_value,
                    "log.entries[0].level");
        check_fails(decode_from_agent(batch_of(entry_with("timestamp", "1767225605000"))), decode_errc::wrong_type,
                    "log.entries[0].timestamp");
        check_fails(decode_from_agent(batch_of(entry_with("truncated", R"("yes")"))), decode_errc::wrong_type,
                    "log.entries[0].truncated: expected true or false");
        check_fails(decode_from_agent(batch_of(R"({"timestamp":"2026-01-01T00:00:05Z","level":"INFO","message":"m"})")),
                    decode_errc::missing_field, "log.entries[0].source: missing");
        check_fails(decode_from_agent(batch_of(R"({"timestamp":"2026-01-01T00:00:05Z","level":"INFO","source":"s"})")),
                    decode_errc::missing_field, "log.entries[0].message: missing");
    }

    TEST_CASE("decode_from_agent: log limits: 1000 entries, 64 KiB messages, 1024-byte sources")
    {
        CHECK(batch_ok(batch_of(repeat(entry_ok, 1000))).entries.size() == 1000);
        check_fails(decode_from_agent(batch_of(repeat(entry_ok, 1001))), decode_errc::invalid_value,
                    "log.entries: more than 1000 entries");
        const std::string longest(max_log_message_bytes, 'x');
        CHECK(batch_ok(batch_of(entry_with("message", "\"" + longest + "\""))).entries[0].message == longest);
        check_fails(decode_from_agent(batch_of(entry_with("message", "\"" + longest + "x\""))),
                    decode_errc::invalid_value, "log.entries[0].message: longer than 65536 bytes");
        // The limit counts bytes after unescaping: 64 KiB of "\n" escapes is 128 KiB on the wire.
        std::string escaped;
        for (std::size_t i = 0; i < max_log_message_bytes; ++i)
            escaped += "\\n";
        CHECK(batch_ok(batch_of(entry_with("message", "\"" + escaped + "\""))).entries[0].message.size()
              == max_log_message_bytes);
        CHECK(batch_ok(batch_of(entry_with("source", "\"" + std::string(1024, 's') + "\""))).entries.size() == 1);
        check_fails(decode_from_agent(batch_of(entry_with("source", "\"" + std::string(1025, 's') + "\""))),
                    decode_errc::invalid_value, "log.entries[0].source: longer than 1024 bytes");
        // A batch must fit one frame: agents cut batches, the decoder refuses a larger frame outright.
        const std::string big(max_log_message_bytes, 'y');
        check_fails(decode_from_agent(batch_of(repeat(entry_with("message", "\"" + big + "\""), 17))),
                    decode_errc::not_json, "exceeds the limit");
    }

    TEST_CASE("decode_from_agent: gap with and without times")
    {
        auto r = decode_from_agent(gap_with(gap_required));
        REQUIRE(r.has_value());
        CHECK(std::get<gap>(*r) == gap{"metrics", 3, 5, 3, std::nullopt, std::nullopt, "spool_full"});
        r = decode_from_agent(gap_with(gap_required + R"(,"from":"2026-01-01T00:00:05Z","to":null)"));
        REQUIRE(r.has_value());
        CHECK(std::get<gap>(*r).from_ms == t_2026_01_01_00_00_05);
        CHECK_FALSE(std::get<gap>(*r).to_ms.has_value());
        // One record: first == last, count 1. Fewer records than seqs (some were acked) is fine.
        ok_as<gap>(decode_from_agent(gap_with(R"("stream":"logs","first_seq":9,"last_seq":9,"count":1,"reason":"x")")));
        ok_as<gap>(decode_from_agent(gap_with(R"("stream":"logs","first_seq":1,"last_seq":18446744073709551615,)"
                                              R"("count":18446744073709551615,"reason":"spool_age")")));
    }

    TEST_CASE("decode_from_agent: gap fields and their checks")
    {
        check_fails(decode_from_agent(gap_with(R"("first_seq":3,"last_seq":5,"count":3,"reason":"r")")),
                    decode_errc::missing_field, "gap.stream: missing");
        check_fails(decode_from_agent(gap_with(R"("stream":"metrics","last_seq":5,"count":3,"reason":"r")")),
                    decode_errc::missing_field, "gap.first_seq: missing");
        check_fails(decode_from_agent(gap_with(R"("stream":"metrics","first_seq":3,"last_seq":5,"count":3)")),
                    decode_errc::missing_field, "gap.reason: missing");
        check_fails(decode_from_agent(gap_with(R"("stream":"disk","first_seq":3,"last_seq":5,"count":3,"reason":"r")")),
                    decode_errc::invalid_value, R"(gap.stream: expected "metrics" or "logs")");
        check_fails(decode_from_agent(gap_with(R"("stream":"logs","first_seq":6,"last_seq":5,"count":1,"reason":"r")")),
                    decode_errc::invalid_value, "gap.last_seq: less than first_seq");
        check_fails(decode_from_agent(gap_with(R"("stream":"logs","first_seq":3,"last_seq":5,"count":4,"reason":"r")")),
                    decode_errc::invalid_value, "gap.count: more than the seqs from first_seq to last_seq");
        check_fails(decode_from_agent(gap_with(R"("stream":"logs","first_seq":3,"last_seq":5,"count":0,"reason":"r")")),
                    decode_errc::invalid_value, "gap.count: must be at least 1");
        check_fails(decode_from_agent(gap_with(R"("stream":"logs","first_seq":0,"last_seq":5,"count":1,"reason":"r")")),
                    decode_errc::invalid_value, "gap.first_seq: must be at least 1");
        check_fails(decode_from_agent(gap_with(gap_required + R"(,"from":12)")), decode_errc::wrong_type, "gap.from");
        check_fails(decode_from_agent(gap_with(R"("stream":"logs","first_seq":3,"last_seq":5,"count":3,"reason":")"
                                               + std::string(1025, 'r') + "\"")),
                    decode_errc::invalid_value, "gap.reason: longer than 1024 bytes");
    }

    TEST_CASE("decode: log, gap and dropped are defined types, accepted only where section 6 says")
    {
        const auto batch = batch_of(entry_ok);
        check_fails(decode_from_collector(batch), decode_errc::unexpected_type, "'log'");
        check_fails(decode_from_frontend(batch), decode_errc::unexpected_type, "'log'");
        check_fails(decode_from_log_frontend(batch), decode_errc::unexpected_type, "'log'");
        check_fails(decode_from_log_frontend(gap_with(gap_required)), decode_errc::unexpected_type, "'gap'");
        check_fails(decode_from_agent(R"({"type":"dropped","count":3})"), decode_errc::unexpected_type, "'dropped'");
        // The logs socket's subscribe is not the metrics one, and the reverse.
        check_fails(decode_from_agent(R"({"type":"subscribe"})"), decode_errc::unexpected_type, "'subscribe'");
    }

    TEST_CASE("decode_from_log_frontend: auth, ping, pong and subscribe")
    {
        auto r = decode_from_log_frontend(R"({"type":"auth","token":"jwt"})");
        REQUIRE(r.has_value());
        CHECK(std::get<frontend_auth>(*r).token == "jwt");
        ok_as<ping>(decode_from_log_frontend(R"({"type":"ping"})"));
        ok_as<pong>(decode_from_log_frontend(R"({"type":"pong"})"));
        r = decode_from_log_frontend(R"({"type":"subscribe"})");
        REQUIRE(r.has_value());
        CHECK(std::get<log_subscribe>(*r) == log_subscribe{});
        // Values are the collector's to check; the metrics socket's fields are unknown here, so ignored.
        r = decode_from_log_frontend(
            R"({"type":"subscribe","level":"LOUD","history":-3,"metrics":["cpu"],"search":null})");
        REQUIRE(r.has_value());
        CHECK(std::get<log_subscribe>(*r) == log_subscribe{"LOUD", std::nullopt, std::nullopt, -3});
    }

    TEST_CASE("decode_from_log_frontend: subscribe field types and limits")
    {
        const auto sub = [](const std::string& fields) { return R"({"type":"subscribe",)" + fields + "}"; };
        check_fails(decode_from_log_frontend(sub(R"("level":3)")), decode_errc::wrong_type,
                    "subscribe.level: expected string");
        check_fails(decode_from_log_frontend(sub(R"("history":"100")")), decode_errc::wrong_type, "subscribe.history");
        check_fails(decode_from_log_frontend(sub(R"("history":1.5)")), decode_errc::invalid_value,
                    "subscribe.history: expected integer");
        CHECK(decode_from_log_frontend(sub(R"("search":")" + std::string(1024, 'q') + "\"")).has_value());
        check_fails(decode_from_log_frontend(sub(R"("search":")" + std::string(1025, 'q') + "\"")),
                    decode_errc::invalid_value, "subscribe.search: longer than 1024 bytes");
        check_fails(decode_from_log_frontend(sub(R"("source":")" + std::string(1025, 'q') + "\"")),
                    decode_errc::invalid_value, "subscribe.source: longer than 1024 bytes");
        check_fails(decode_from_log_frontend(sub(R"("level":"WARN","level":"INFO")")), decode_errc::invalid_value,
                    "subscribe.level: duplicate key");
    }

    TEST_CASE("encode: log messages omit what is absent and round-trip")
    {
        log_batch b{9, {{t_2026_01_01_00_00_05, "WARN", "/var/log/a.log", "disk 91% full", false}}};
        CHECK(encode(b)
              == R"({"type":"log","seq":9,"entries":[{"timestamp":"2026-01-01T00:00:05.000Z","level":"WARN",)"
                 R"("source":"/var/log/a.log","message":"disk 91% full"}]})");
        CHECK(ok_as<log_batch>(decode_from_agent(encode(b))) == b);
        CHECK(encode(gap{"metrics", 1, 2, 2, std::nullopt, std::nullopt, "unknown"})
              == R"({"type":"gap","stream":"metrics","first_seq":1,"last_seq":2,"count":2,"reason":"unknown"})");
        CHECK(encode(log_subscribe{}) == R"({"type":"subscribe"})");
        CHECK(encode(log_subscribe{std::nullopt, "a\"b", std::nullopt, 0})
              == R"({"type":"subscribe","search":"a\"b","history":0})");
    }

    TEST_CASE("encode: a log line with arbitrary bytes still gives valid JSON that decodes")
    {
        // What a log file may hold: control characters, a stray byte, a truncated UTF-8 sequence.
        const log_entry e{t_2026_01_01_00_00_05, "CRIT", "/var/log/\xff.log", "a\x01\"b\\\x7f\xe2\x82", true};
        const auto frame = encode_frontend_log(e);
        CHECK(is_valid_json(frame));
        const auto batch = encode(log_batch{1, {e}});
        auto back = decode_from_agent(batch);
        REQUIRE(back.has_value());
        const auto& d = std::get<log_batch>(*back).entries.at(0);
        CHECK(d.message == "a\x01\"b\\\x7f\xef\xbf\xbd\xef\xbf\xbd"); // each bad byte is U+FFFD
        CHECK(d.source == "/var/log/\xef\xbf\xbd.log");
        CHECK(d.truncated);
        CHECK(encode_dropped(0) == R"({"type":"dropped","count":0})");
    }
}
