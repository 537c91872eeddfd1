#include "proto/command_signing.hpp"

#include <doctest/doctest.h>
#include <string>
#include <variant>

#include "common/random.hpp"
#include "common/signing.hpp"
#include "proto/codec.hpp"
#include "samples.hpp"

using namespace corvid::proto;
using corvid::proto::test::check_fails;
using corvid::proto::test::decode_as;
using corvid::proto::test::read_golden;

namespace {
command sample_command()
{
    command c;
    c.command_id = "7d3f1c9a-2b4e-4f6a-9c8d-1e2f3a4b5c6d";
    c.command = "ls -la /var/log";
    c.timeout_s = 60;
    c.server_id = "0b8f6f2e-6c4b-4a8e-9d2a-3f1e5c7b9a10";
    c.issued_by = "alice";
    c.issued_at_ms = 1767225605000; // 2026-01-01T00:00:05Z
    c.expires_at_ms = c.issued_at_ms + 60000;
    return c;
}
} // namespace

TEST_SUITE("proto.commands")
{
    TEST_CASE("golden command.json and docker_command.json decode on the agent side and re-encode")
    {
        const auto text = read_golden("command.json");
        const auto c = decode_as<command>(decode_from_collector, text);
        auto expected = sample_command();
        expected.signature = c.signature;
        CHECK(c == expected);
        CHECK(encode(c) == text);
        CHECK_FALSE(decode_from_agent(text).has_value()); // agents never send commands

        const auto dtext = read_golden("docker_command.json");
        const auto d = decode_as<docker_command>(decode_from_collector, dtext);
        CHECK(d.action == "restart");
        CHECK(d.container_id == "web-frontend");
        CHECK(encode(d) == dtext);
    }

    TEST_CASE("golden command_output, command_response (run and refused), docker_response re-encode")
    {
        for (const char* name : {"command_output.json", "command_response.json", "command_response_refused.json",
                                 "docker_response.json"}) {
            INFO(name);
            const auto text = read_golden(name);
            auto r = decode_from_agent(text);
            REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message));
            std::visit([&](const auto& m) { CHECK(encode(m) == text); }, *r);
            CHECK_FALSE(decode_from_collector(text).has_value());
        }
        const auto refused = decode_as<command_response>(decode_from_agent, read_golden("command_response_refused.json"));
        CHECK(refused.exit_code == -1);
        CHECK(refused.error == std::optional<std::string>("denied"));
        const auto ran = decode_as<command_response>(decode_from_agent, read_golden("command_response.json"));
        CHECK_FALSE(ran.error);
        CHECK(ran.duration_ms == 150);
    }

    TEST_CASE("golden metrics_containers.json: containers with and without stats")
    {
        const auto text = read_golden("metrics_containers.json");
        const auto m = decode_as<metrics>(decode_from_agent, text);
        REQUIRE(m.data.containers);
        REQUIRE(m.data.containers->size() == 2);
        const auto& web = (*m.data.containers)[0];
        CHECK(web.name == "web");
        CHECK(web.cpu_percent == std::optional<double>(12.5));
        CHECK(web.memory_limit_bytes == std::optional<std::uint64_t>(1073741824));
        CHECK_FALSE(web.stale);
        const auto& batch = (*m.data.containers)[1];
        CHECK_FALSE(batch.cpu_percent);
        CHECK(batch.stale);
        CHECK(encode(m) == text);
        // An empty list (docker on, nothing there) is kept, unlike an absent one.
        auto empty = m;
        empty.data.containers.emplace();
        CHECK(encode(empty).find(R"("containers":[])") != std::string::npos);
        empty.data.containers.reset();
        CHECK(encode(empty).find("containers") == std::string::npos);
        CHECK(sample_field_from_name("containers") == std::optional<sample_field>(sample_field::containers));
    }

    TEST_CASE("decode: command fields are checked for form")
    {
        auto c = sample_command();
        c.signature = "c2ln";
        const std::string text = encode(c);
        // `text` with its first `from` replaced by `to`.
        auto with = [&](std::string_view from, std::string_view to) {
            const auto at = text.find(from);
            REQUIRE(at != std::string::npos);
            return text.substr(0, at) + std::string(to) + text.substr(at + from.size());
        };
        check_fails(decode_from_collector(with("\"timeout_s\":60", "\"timeout_s\":0")), decode_errc::invalid_value, "command.timeout_s");
        check_fails(decode_from_collector(with("\"timeout_s\":60", "\"timeout_s\":86401")), decode_errc::invalid_value, "command.timeout_s");
        check_fails(decode_from_collector(with("\"timeout_s\":60", "\"timeout_s\":-5")), decode_errc::invalid_value, "command.timeout_s");
        check_fails(decode_from_collector(with("\"ls -la /var/log\"", "\"\"")), decode_errc::invalid_value, "command.command");
        check_fails(decode_from_collector(with("\"2026-01-01T00:01:05.000Z\"", "\"tomorrow\"")), decode_errc::invalid_value,
                    "command.expires_at");
        check_fails(decode_from_collector(with("\"alice\"", "7")), decode_errc::wrong_type, "command.issued_by");
        check_fails(decode_from_collector(R"({"type":"command","command_id":"x","command":"ls","timeout_s":5})"),
                    decode_errc::missing_field, "command.server_id");
        const std::string huge(max_command_bytes + 1, 'a');
        check_fails(decode_from_collector(with("ls -la /var/log", huge)), decode_errc::invalid_value,
                    "command.command");
    }

    TEST_CASE("decode: agent results are checked for form")
    {
        check_fails(decode_from_agent(R"({"type":"command_output","command_id":"a","stream":"stdin","data":""})"),
                    decode_errc::invalid_value, "command_output.stream");
        check_fails(decode_from_agent(R"({"type":"command_response","command_id":"a","exit_code":256,"duration_ms":1})"),
                    decode_errc::invalid_value, "command_response.exit_code");
        check_fails(decode_from_agent(R"({"type":"command_response","command_id":"a","exit_code":0,"duration_ms":-1})"),
                    decode_errc::invalid_value, "command_response.duration_ms");
        check_fails(decode_from_agent(R"({"type":"command_response","command_id":"","exit_code":0,"duration_ms":1})"),
                    decode_errc::invalid_value, "command_response.command_id");
        check_fails(decode_from_agent(R"({"type":"docker_response","command_id":"a","success":"yes","message":""})"),
                    decode_errc::wrong_type, "docker_response.success");
        const std::string big(max_output_chunk_bytes + 1, 'x');
        check_fails(decode_from_agent(R"({"type":"command_output","command_id":"a","stream":"stdout","data":")" + big
                                      + "\"}"),
                    decode_errc::invalid_value, "command_output.data");
    }

    TEST_CASE("signing_payload: the exact canonical bytes of PROTOCOL.md 10.2")
    {
        const auto c = sample_command();
        CHECK(signing_payload(c)
              == "corvid-signed-command-v1\n"
                 "kind 7 command\n"
                 "server_id 36 0b8f6f2e-6c4b-4a8e-9d2a-3f1e5c7b9a10\n"
                 "command_id 36 7d3f1c9a-2b4e-4f6a-9c8d-1e2f3a4b5c6d\n"
                 "issued_by 5 alice\n"
                 "issued_at 24 2026-01-01T00:00:05.000Z\n"
                 "expires_at 24 2026-01-01T00:01:05.000Z\n"
                 "command 15 ls -la /var/log\n"
                 "timeout_s 2 60\n");
        docker_command d;
        d.command_id = c.command_id;
        d.server_id = c.server_id;
        d.issued_by = c.issued_by;
        d.issued_at_ms = c.issued_at_ms;
        d.expires_at_ms = c.expires_at_ms;
        d.action = "stop";
        d.container_id = "web";
        const auto dp = signing_payload(d);
        CHECK(dp.find("kind 14 docker_command\n") != std::string::npos);
        CHECK(dp.find("action 4 stop\ncontainer_id 3 web\n") != std::string::npos);
    }

    TEST_CASE("signing_payload: every signed field changes the payload, framing is unambiguous")
    {
        const auto base = sample_command();
        const auto p = signing_payload(base);
        auto changed = [&](auto edit) {
            auto c = base;
            edit(c);
            return signing_payload(c) != p;
        };
        CHECK(changed([](command& c) { c.command_id[0] = '8'; }));
        CHECK(changed([](command& c) { c.command += " "; }));
        CHECK(changed([](command& c) { c.timeout_s = 61; }));
        CHECK(changed([](command& c) { c.server_id[0] = '1'; }));
        CHECK(changed([](command& c) { c.issued_by = "mallory"; }));
        CHECK(changed([](command& c) { c.issued_at_ms += 1; }));
        CHECK(changed([](command& c) { c.expires_at_ms += 1; }));
        CHECK_FALSE(changed([](command& c) { c.signature = "anything"; }));
        // A newline inside a value cannot forge a field boundary.
        auto a = base, b = base;
        a.issued_by = "alice\nissued_by 3 bob";
        b.issued_by = "alice";
        CHECK(signing_payload(a) != signing_payload(b));
    }

    TEST_CASE("signing: Ed25519 over the payload verifies, and fails after any change")
    {
        corvid::init_crypto();
        const auto keys = corvid::generate_signing_key_pair();
        auto c = sample_command();
        const auto sig = corvid::sign_detached(signing_payload(c), keys.secret_key);
        CHECK(corvid::verify_detached(signing_payload(c), sig, keys.public_key));
        c.command = "rm -rf /";
        CHECK_FALSE(corvid::verify_detached(signing_payload(c), sig, keys.public_key));
        const auto other = corvid::generate_signing_key_pair();
        CHECK_FALSE(corvid::verify_detached(signing_payload(sample_command()), sig, other.public_key));
        CHECK_FALSE(corvid::verify_detached(signing_payload(sample_command()), sig.substr(1), keys.public_key));
        auto restored = corvid::signing_key_pair_from_secret(keys.secret_key);
        REQUIRE(restored);
        CHECK(restored->public_key == keys.public_key);
        auto damaged = keys.secret_key;
        damaged[40] ^= 1; // the public half stored in the secret key no longer matches the seed
        CHECK_FALSE(corvid::signing_key_pair_from_secret(damaged));
        CHECK_FALSE(corvid::signing_key_pair_from_secret("short"));
    }

    TEST_CASE("auth.interval_s: optional, 1 to 60, round trips")
    {
        auth_request a{"cvd_x", "0.1.0", "web-01", 5u};
        const auto text = encode(a);
        CHECK(text.find(R"("interval_s":5)") != std::string::npos);
        CHECK(decode_as<auth_request>(decode_from_agent, text) == a);
        a.interval_s.reset();
        CHECK(encode(a).find("interval_s") == std::string::npos);
        check_fails(decode_from_agent(R"({"type":"auth","api_key":"k","agent_version":"v","hostname":"h","interval_s":0})"),
                    decode_errc::invalid_value, "auth.interval_s");
        check_fails(decode_from_agent(R"({"type":"auth","api_key":"k","agent_version":"v","hostname":"h","interval_s":61})"),
                    decode_errc::invalid_value, "auth.interval_s");
    }
}
