#include "agent/commands/command_guard.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

#include "agent/commands/command_dispatcher.hpp"
#include "agent/commands/replay_store.hpp"
#include "common/file_util.hpp"
#include "common/random.hpp"
#include "common/signing.hpp"
#include "common/time_format.hpp"
#include "proto/codec.hpp"
#include "proto/command_signing.hpp"
#include "tests/support/temp_dir.hpp"

using namespace corvid;
using namespace corvid::agent;

namespace {
constexpr std::int64_t now = 1767225605000;
const std::string server = "0b8f6f2e-6c4b-4a8e-9d2a-3f1e5c7b9a10";

struct signed_command {
    proto::command c;
    std::string payload;
};

signed_command make(const signing_key_pair& keys, std::string id = "c-1", std::int64_t issued = now,
                    std::int64_t validity = 60000)
{
    signed_command s;
    s.c.command_id = std::move(id);
    s.c.command = "uptime";
    s.c.timeout_s = 10;
    s.c.server_id = server;
    s.c.issued_by = "alice";
    s.c.issued_at_ms = issued;
    s.c.expires_at_ms = issued + validity;
    s.payload = proto::signing_payload(s.c);
    s.c.signature = base64_encode(sign_detached(s.payload, keys.secret_key));
    return s;
}

signed_envelope envelope(const signed_command& s)
{
    return {s.c.command_id, s.c.server_id, s.payload, s.c.signature, s.c.issued_at_ms, s.c.expires_at_ms};
}

std::optional<refusal> verdict(command_guard& g, const signed_command& s, std::int64_t at = now)
{
    auto r = g.admit(envelope(s), at);
    return r ? std::optional<refusal>(r->code) : std::nullopt;
}

// A command signed now, for the dispatcher (which reads the real clock).
proto::command signed_now(const signing_key_pair& keys, std::string text, std::string id)
{
    auto s = make(keys, std::move(id), now_unix_ms());
    s.c.command = std::move(text);
    s.c.signature = base64_encode(sign_detached(proto::signing_payload(s.c), keys.secret_key));
    return s.c;
}

corvid::agent::remote_policy commands_policy(const signing_key_pair& keys, std::vector<std::string> patterns)
{
    corvid::agent::remote_policy p;
    p.collector_public_key = keys.public_key;
    p.server_id = server;
    p.commands.enabled = true;
    for (const auto& pattern : patterns) {
        std::string problem;
        auto compiled = whole_match_pattern::compile(pattern, problem);
        REQUIRE(compiled);
        p.commands.allow.push_back(std::move(*compiled));
    }
    return p;
}

// A real dispatcher on its own io_context: hands it commands, runs until every one has answered
// (real child processes, real files), and keeps what it sent.
struct dispatcher_run {
    boost::asio::io_context io{1};
    std::vector<proto::command_response> responses;
    std::vector<std::string> output; // command_output data
    command_dispatcher dispatcher;

    dispatcher_run(corvid::agent::remote_policy policy, std::string ids_file = {})
        : dispatcher(io.get_executor(), std::move(policy), std::nullopt,
                     [this](std::string frame, bool) {
                         auto msg = proto::decode_from_agent(frame);
                         REQUIRE(msg.has_value());
                         if (auto* r = std::get_if<proto::command_response>(&*msg))
                             responses.push_back(*r);
                         else if (auto* o = std::get_if<proto::command_output>(&*msg))
                             output.push_back(o->data);
                     },
                     std::move(ids_file))
    {
        dispatcher.on_authenticated(server);
    }

    proto::command_response send(const proto::command& c)
    {
        const auto before = responses.size();
        dispatcher.on_command(c);
        io.restart();
        io.run_for(std::chrono::seconds(20));
        REQUIRE(responses.size() == before + 1);
        CHECK(dispatcher.running() == 0);
        return responses.back();
    }
};

// What the process writes to stderr (the agent's log) while `work` runs.
template <class Work> std::string stderr_of(Work&& work)
{
    corvid::test::temp_dir dir;
    const std::string path = dir.file("stderr");
    std::fflush(stderr);
    const int saved = ::dup(STDERR_FILENO);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    ::dup2(fd, STDERR_FILENO);
    ::close(fd);
    work();
    std::fflush(stderr);
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    auto text = corvid::read_file(path);
    REQUIRE(text.has_value());
    return *text;
}
} // namespace

TEST_SUITE("agent.command_guard")
{
    TEST_CASE("command_guard: a signed, current, first-seen command for this server is admitted once")
    {
        init_crypto();
        const auto keys = generate_signing_key_pair();
        command_guard g(keys.public_key);
        g.set_server_id(server);
        const auto s = make(keys);
        CHECK_FALSE(verdict(g, s));
        CHECK(verdict(g, s) == refusal::replayed);
        CHECK(g.remembered() == 1);
    }

    TEST_CASE("command_guard: tampering with any signed field, or another key, is bad_signature")
    {
        init_crypto();
        const auto keys = generate_signing_key_pair();
        command_guard g(keys.public_key);
        g.set_server_id(server);
        auto s = make(keys);
        s.c.command = "rm -rf /";
        s.payload = proto::signing_payload(s.c); // the agent rebuilds the payload from what it received
        CHECK(verdict(g, s) == refusal::bad_signature);
        const auto other = generate_signing_key_pair();
        CHECK(verdict(g, make(other, "c-2")) == refusal::bad_signature);
        auto garbled = make(keys, "c-3");
        garbled.c.signature = "not base64!";
        CHECK(verdict(g, garbled) == refusal::bad_signature);
        CHECK(g.remembered() == 0); // forgeries never fill the replay cache
    }

    TEST_CASE("command_guard: a command for another server is denied")
    {
        init_crypto();
        const auto keys = generate_signing_key_pair();
        command_guard g(keys.public_key);
        g.set_server_id("11111111-2222-4333-8444-555555555555");
        CHECK(verdict(g, make(keys)) == refusal::denied);
        command_guard unauthenticated(keys.public_key);
        CHECK(verdict(unauthenticated, make(keys)) == refusal::denied);
    }

    TEST_CASE("command_guard: expiry, clock skew and validity window")
    {
        init_crypto();
        const auto keys = generate_signing_key_pair();
        command_guard g(keys.public_key);
        g.set_server_id(server);
        const auto skew = command_guard::clock_skew_ms;
        CHECK(verdict(g, make(keys, "late"), now + 60000 + skew + 1) == refusal::expired);
        CHECK_FALSE(verdict(g, make(keys, "slightly-late"), now + 60000 + skew));
        CHECK(verdict(g, make(keys, "future", now + skew + 1000), now) == refusal::expired);
        CHECK(verdict(g, make(keys, "forever", now, command_guard::max_validity_ms + 1)) == refusal::expired);
        CHECK(verdict(g, make(keys, "backwards", now, -1)) == refusal::expired);
    }

    TEST_CASE("command_guard: ids are forgotten once expired, a full cache refuses instead of forgetting")
    {
        init_crypto();
        const auto keys = generate_signing_key_pair();
        command_guard g(keys.public_key, 2);
        g.set_server_id(server);
        CHECK_FALSE(verdict(g, make(keys, "a")));
        CHECK_FALSE(verdict(g, make(keys, "b")));
        CHECK(verdict(g, make(keys, "c")) == refusal::busy);
        // Two minutes later a and b have expired (beyond the skew): room again, and a replay of
        // "a" is refused as expired rather than accepted.
        const auto later = now + 60000 + command_guard::clock_skew_ms + 1;
        CHECK(verdict(g, make(keys, "a"), later) == refusal::expired);
        CHECK_FALSE(verdict(g, make(keys, "d", later), later));
        CHECK(g.remembered() == 1);
    }

    TEST_CASE("command_guard: an unreadable replay cache refuses every command for the whole replay window")
    {
        init_crypto();
        const auto keys = generate_signing_key_pair();
        command_guard g(keys.public_key);
        g.set_server_id(server);
        g.refuse_until(now + command_guard::replay_window_ms, "the ids could not be read");
        CHECK(verdict(g, make(keys, "a")) == refusal::busy);
        const auto last = now + command_guard::replay_window_ms - 1;
        CHECK(verdict(g, make(keys, "b", last), last) == refusal::busy);
        CHECK(verdict(g, make(keys, "forged-a", now)) == refusal::busy);
        auto forged = make(keys, "x");
        forged.c.signature = base64_encode(std::string(64, '\0'));
        CHECK(verdict(g, forged) == refusal::bad_signature); // the signature still comes first
        const auto after = now + command_guard::replay_window_ms;
        CHECK_FALSE(verdict(g, make(keys, "c", after), after));
        // The window covers any command admitted before the start: issued up to the skew in the
        // future, valid for the longest window, accepted up to the skew after its expiry.
        CHECK(command_guard::replay_window_ms ==
              command_guard::clock_skew_ms + command_guard::max_validity_ms + command_guard::clock_skew_ms);
    }

    TEST_CASE("replay_store: the command-ids file round-trips, anything malformed is refused whole")
    {
        const remembered_ids ids{{"7d3f1c9a-2b4e-4f6a-9c8d-1e2f3a4b5c6d", now}, {"with space\nand newline", now + 1}};
        const auto text = encode_command_ids(ids);
        CHECK(text.starts_with("corvid-command-ids v1 2\n"));
        auto back = parse_command_ids(text);
        REQUIRE(back.has_value());
        CHECK(*back == ids);
        auto empty = parse_command_ids("corvid-command-ids v1 0\n");
        REQUIRE(empty.has_value());
        CHECK(empty->empty());
        for (const std::string bad : {"", "garbage", "corvid-command-ids v1 \n", "corvid-command-ids v1 1\n",
                                      "corvid-command-ids v1 01\n", "corvid-command-ids v2 0\n",
                                      "corvid-command-ids v1 1\n5 3 abc", "corvid-command-ids v1 1\n5 4 abc\n",
                                      "corvid-command-ids v1 1\n-5 3 abc\n", "corvid-command-ids v1 1\n5 0 \n",
                                      "corvid-command-ids v1 0\nextra", "corvid-command-ids v1 2\n5 1 a\n6 1 a\n",
                                      "corvid-command-ids v1 1\n99999999999999999999 1 a\n"}) {
            CAPTURE(bad);
            CHECK_FALSE(parse_command_ids(bad).has_value());
        }
        CHECK_FALSE(parse_command_ids(text.substr(0, text.size() - 1)).has_value()); // cut short
    }

    TEST_CASE("replay_store: issue 12.3 a command admitted before a restart is refused as replayed after it")
    {
        init_crypto();
        const auto keys = generate_signing_key_pair();
        corvid::test::temp_dir dir;
        const auto file = dir.file("command-ids");
        const auto c = signed_now(keys, "echo once", "c-restart");
        {
            dispatcher_run first(commands_policy(keys, {"echo [a-z]+"}), file);
            auto r = first.send(c);
            CHECK_FALSE(r.error);
            CHECK(r.output == "once\n");
        }
        // The id was on disk before the command ran, in the documented format.
        auto stored = corvid::read_file(file);
        REQUIRE(stored.has_value());
        CHECK(stored->find(" 9 c-restart\n") != std::string::npos);
        CHECK_FALSE(corvid::readable_by_group_or_others(file));

        dispatcher_run second(commands_policy(keys, {"echo [a-z]+"}), file);
        auto r = second.send(c);
        REQUIRE(r.error);
        CHECK(*r.error == "replayed");
        CHECK(r.exit_code == -1);
        // Without the file (what a restart used to be), the same capture ran again.
        dispatcher_run forgetful(commands_policy(keys, {"echo [a-z]+"}));
        CHECK_FALSE(forgetful.send(c).error);
    }

    TEST_CASE("replay_store: issue 12.3 a command-ids file that cannot be parsed refuses every command at start")
    {
        init_crypto();
        const auto keys = generate_signing_key_pair();
        corvid::test::temp_dir dir;
        const auto file = dir.write("command-ids", "corvid-command-ids v1 3\n17 1 a\n");
        dispatcher_run run(commands_policy(keys, {"echo [a-z]+"}), file);
        auto r = run.send(signed_now(keys, "echo fresh", "c-new"));
        REQUIRE(r.error);
        CHECK(*r.error == "busy");
        REQUIRE(r.message);
        CHECK(r.message->find("could not be read at start") != std::string::npos);
        CHECK(run.output.empty());
        // The file is left for the operator to look at until a command is admitted again.
        CHECK(corvid::read_file(file).value() == "corvid-command-ids v1 3\n17 1 a\n");
    }

    TEST_CASE("replay_store: issue 12.3 expired ids are dropped at start and the rest stay refused")
    {
        init_crypto();
        const auto keys = generate_signing_key_pair();
        corvid::test::temp_dir dir;
        const auto t = now_unix_ms();
        const auto live = signed_now(keys, "echo live", "c-live");
        const remembered_ids on_disk{{"c-old", t - command_guard::clock_skew_ms - 1000}, {"c-live", live.expires_at_ms}};
        const auto file = dir.write("command-ids", encode_command_ids(on_disk));
        dispatcher_run run(commands_policy(keys, {"echo [a-z]+"}), file);
        auto r = run.send(live);
        REQUIRE(r.error);
        CHECK(*r.error == "replayed");
        CHECK_FALSE(run.send(signed_now(keys, "echo new", "c-new")).error);
        auto stored = parse_command_ids(corvid::read_file(file).value());
        REQUIRE(stored.has_value());
        CHECK(stored->size() == 2);
        CHECK(stored->contains("c-live"));
        CHECK(stored->contains("c-new"));
        CHECK_FALSE(stored->contains("c-old"));
    }

    TEST_CASE("replay_store: issue 12.3 a command whose id cannot be recorded is refused, not run")
    {
        init_crypto();
        const auto keys = generate_signing_key_pair();
        corvid::test::temp_dir dir;
        // A directory that does not exist: the file cannot be written.
        dispatcher_run run(commands_policy(keys, {"echo [a-z]+"}), dir.file("missing/command-ids"));
        auto c = signed_now(keys, "echo never", "c-unrecorded");
        auto r = run.send(c);
        REQUIRE(r.error);
        CHECK(*r.error == "busy");
        CHECK(r.message->find("cannot record the command id") != std::string::npos);
        CHECK(run.output.empty());
        CHECK(run.send(c).error == std::optional<std::string>("replayed")); // still remembered in memory
    }

    TEST_CASE("command_dispatcher: issue 12.3 commands need server_id and are refused while auth_success disagrees")
    {
        init_crypto();
        const auto keys = generate_signing_key_pair();
        auto no_id = commands_policy(keys, {"echo [a-z]+"});
        no_id.server_id.clear();
        dispatcher_run unconfigured(no_id);
        auto r = unconfigured.send(signed_now(keys, "echo hi", "c-1")); // auth_success said `server`
        REQUIRE(r.error);
        CHECK(*r.error == "denied");
        CHECK(r.message->find("server_id") != std::string::npos);

        dispatcher_run mismatched(commands_policy(keys, {"echo [a-z]+"}));
        mismatched.dispatcher.on_authenticated("11111111-2222-4333-8444-555555555555");
        r = mismatched.send(signed_now(keys, "echo hi", "c-2"));
        REQUIRE(r.error);
        CHECK(*r.error == "denied");
        CHECK(r.message->find("authenticated this agent as server 11111111") != std::string::npos);
        mismatched.dispatcher.on_authenticated(server); // reconnected to the right collector
        CHECK_FALSE(mismatched.send(signed_now(keys, "echo hi", "c-3")).error);
    }

    TEST_CASE("command_dispatcher: issue 12.1 a newline in the command is denied even when the pattern's negated "
              "bracket would match it")
    {
        init_crypto();
        const auto keys = generate_signing_key_pair();
        dispatcher_run run(commands_policy(keys, {"cat /var/log/[^ ;&|$`<>()]+"}));
        std::string log;
        proto::command_response r;
        log = stderr_of([&] { r = run.send(signed_now(keys, "cat /var/log/none\nid", "c-newline")); });
        REQUIRE(r.error);
        CHECK(*r.error == "denied");
        CHECK(r.exit_code == -1);
        CHECK(r.output.empty());
        CHECK(run.output.empty()); // nothing ran: no `id`, no `cat`
        CHECK(log.find("command c-newline refused (denied)") != std::string::npos);
        CHECK(log.find("control character 0x0a") != std::string::npos);
        CHECK(log.find("uid=") == std::string::npos);
    }

    TEST_CASE("command_dispatcher: issue 12.4 a command's text is logged only after its signature verified")
    {
        init_crypto();
        const auto keys = generate_signing_key_pair();
        dispatcher_run run(commands_policy(keys, {"echo [a-z]+"}));
        auto forged = signed_now(keys, "echo forgedtext", "c-forged");
        forged.issued_by = "mallory"; // changed after signing
        proto::command_response r;
        auto log = stderr_of([&] { r = run.send(forged); });
        REQUIRE(r.error);
        CHECK(*r.error == "bad_signature");
        CHECK(log.find("c-forged") != std::string::npos);
        CHECK(log.find("forgedtext") == std::string::npos);
        CHECK(log.find("mallory") == std::string::npos);

        log = stderr_of([&] { r = run.send(signed_now(keys, "echo verifiedtext", "c-good")); });
        CHECK_FALSE(r.error);
        CHECK(log.find("command c-good verified, issued by 'alice': echo verifiedtext") != std::string::npos);
    }

    TEST_CASE("fit_in_frame: binary output that escapes past the frame limit is cut and marked truncated")
    {
        proto::command_response r;
        r.command_id = "c";
        r.output = std::string(512 * 1024, '\x01'); // each byte becomes \u0001: 6 bytes on the wire
        fit_in_frame(r);
        CHECK(r.truncated);
        CHECK(proto::encode(r).size() <= proto::max_frame_bytes);
        CHECK(r.output.size() > 100 * 1024);
        proto::command_response small;
        small.output = "hello";
        fit_in_frame(small);
        CHECK_FALSE(small.truncated);
        CHECK(small.output == "hello");
    }
}
