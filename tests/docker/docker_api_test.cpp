#include "agent/docker/docker_api.hpp"

#include <boost/asio/error.hpp>
#include <doctest/doctest.h>

#include "agent/docker/unix_http.hpp"

using namespace corvid::agent::docker;
using namespace std::chrono_literals;

TEST_SUITE("docker_api")
{
    TEST_CASE("docker_api: API versions parse strictly")
    {
        CHECK(parse_api_version("1.41") == api_version{1, 41});
        CHECK(parse_api_version("1.24") == api_version{1, 24});
        CHECK(parse_api_version("2.0") == api_version{2, 0});
        CHECK_FALSE(parse_api_version(""));
        CHECK_FALSE(parse_api_version("1"));
        CHECK_FALSE(parse_api_version("1.41.0"));
        CHECK_FALSE(parse_api_version(" 1.41"));
        CHECK_FALSE(parse_api_version("1.x"));
        CHECK_FALSE(parse_api_version("v1.41"));
        CHECK_FALSE(parse_api_version("1.99999"));
    }

    TEST_CASE("docker_api: negotiation takes the lower of the daemon's and ours, refuses too old")
    {
        CHECK(negotiate_api_version("1.41") == api_version{1, 41});
        CHECK(negotiate_api_version("1.45") == api_version{1, 41}); // Docker 26
        CHECK(negotiate_api_version("1.40") == api_version{1, 40});
        CHECK(negotiate_api_version("1.24") == api_version{1, 24});
        CHECK_FALSE(negotiate_api_version("1.23"));
        CHECK_FALSE(negotiate_api_version("4.3.1")); // podman's own libpod version is not an API version
        CHECK(api_version{1, 41}.prefix() == "/v1.41");
        CHECK(api_version{1, 9}.text() == "1.9");
        CHECK(api_version{1, 9} < api_version{1, 10});
    }

    TEST_CASE("docker_api: exactly the seven actions")
    {
        for (auto name : {"start", "stop", "restart", "pause", "unpause", "kill", "remove"}) {
            auto a = parse_action(name);
            REQUIRE(a);
            CHECK(action_name(*a) == name);
        }
        CHECK_FALSE(parse_action("Start"));
        CHECK_FALSE(parse_action("exec"));
        CHECK_FALSE(parse_action("rm"));
        CHECK_FALSE(parse_action(""));
        CHECK_FALSE(parse_action("stop "));
    }

    TEST_CASE("docker_api: container ids cannot change the request path")
    {
        CHECK(valid_container_id("web"));
        CHECK(valid_container_id("my_app.v2-1"));
        CHECK(valid_container_id("810ba63fab086e83dde272c5507dd3f1bbce88fa57fe1c6a07a98226d5b64a0b"));
        CHECK(valid_container_id(std::string(128, 'a')));
        CHECK_FALSE(valid_container_id(std::string(129, 'a')));
        CHECK_FALSE(valid_container_id(""));
        CHECK_FALSE(valid_container_id("."));
        CHECK_FALSE(valid_container_id(".."));
        CHECK_FALSE(valid_container_id("../../images/x"));
        CHECK_FALSE(valid_container_id("a/b"));
        CHECK_FALSE(valid_container_id("a?force=true"));
        CHECK_FALSE(valid_container_id("a%2Fb"));
        CHECK_FALSE(valid_container_id("a b"));
        CHECK_FALSE(valid_container_id("a\r\nHost: x"));
        CHECK_FALSE(valid_container_id(std::string_view("a\0b", 3)));
        CHECK_FALSE(valid_container_id("caf\xc3\xa9"));
    }

    TEST_CASE("docker_api: action requests")
    {
        const api_version v{1, 41};
        auto stop = make_action_request(v, action::stop, "web");
        CHECK_FALSE(stop.is_delete);
        CHECK(stop.target == "/v1.41/containers/web/stop");
        CHECK(make_action_request(v, action::unpause, "x").target == "/v1.41/containers/x/unpause");
        auto rm = make_action_request(v, action::remove, "web");
        CHECK(rm.is_delete);
        CHECK(rm.target == "/v1.41/containers/web"); // no force, no v: see docker_api.hpp
    }

    TEST_CASE("docker_api: success and not-modified answers")
    {
        auto o = map_action_response(action::start, "web", 204, "");
        CHECK(o.success);
        CHECK(o.message == "Container started");
        CHECK(map_action_response(action::stop, "web", 204, "").message == "Container stopped");
        CHECK(map_action_response(action::restart, "web", 204, "").message == "Container restarted");
        CHECK(map_action_response(action::pause, "web", 204, "").message == "Container paused");
        CHECK(map_action_response(action::unpause, "web", 204, "").message == "Container unpaused");
        CHECK(map_action_response(action::kill, "web", 204, "").message == "Container killed");
        CHECK(map_action_response(action::remove, "web", 204, "").message == "Container removed");

        auto again = map_action_response(action::start, "web", 304, "");
        CHECK_FALSE(again.success);
        CHECK(again.message == "Container already started");
        CHECK(map_action_response(action::stop, "web", 304, "").message == "Container already stopped");
        CHECK_FALSE(again.refused);
    }

    TEST_CASE("docker_api: errors of Docker and podman")
    {
        // Docker
        auto missing = map_action_response(action::stop, "nope", 404, R"({"message":"No such container: nope"})");
        CHECK_FALSE(missing.success);
        CHECK(missing.message == "No such container: nope");
        auto conflict = map_action_response(action::kill, "web", 409,
                                            R"({"message":"Container 8dfafdbc is not running"})");
        CHECK(conflict.message == "Container 8dfafdbc is not running");
        auto paused = map_action_response(action::stop, "web", 409, R"({"message":"container is paused"})");
        CHECK(paused.message == "container is paused");
        auto broken = map_action_response(action::start, "web", 500,
                                          R"({"message":"OCI runtime create failed: exec: \"nope\": not found"})");
        CHECK(broken.message == "Docker error: OCI runtime create failed: exec: \"nope\": not found");
        // podman: 404 with its own text, 500 "container state improper" is a conflict
        auto pmissing = map_action_response(
            action::start, "nope", 404,
            R"({"cause":"no such container","message":"no container with name or ID \"nope\" found: no such container","response":404})");
        CHECK(pmissing.message == "No such container: nope");
        auto ppaused = map_action_response(
            action::pause, "c2", 500,
            R"({"cause":"container state improper","message":"\"9292\" is already paused: container state improper","response":500})");
        CHECK(ppaused.message == "\"9292\" is already paused"); // podman's ": <cause>" suffix dropped
        // Bodies that are not Docker's JSON
        CHECK(map_action_response(action::start, "x", 500, "").message == "Docker error: HTTP 500");
        CHECK(map_action_response(action::start, "x", 502, "Bad Gateway\r\n").message == "Docker error: Bad Gateway");
        CHECK(map_action_response(action::start, "x", 400, R"({"message":"bad parameter"})").message
              == "Docker refused start: bad parameter (HTTP 400)");
    }

    TEST_CASE("docker_api: daemon messages are cleaned and bounded")
    {
        CHECK(daemon_message(R"({"message":"  two\nlines\t "})") == "two lines");
        CHECK(daemon_message(R"({"message":42})") == R"({"message":42})");
        CHECK(daemon_message(std::string(10000, 'x')).size() == 512);
        const std::string long_utf8 = "{\"message\":\"" + std::string(511, 'a') + "\xc3\xa9\"}";
        CHECK(daemon_message(long_utf8) == std::string(511, 'a')); // not cut inside the é
        CHECK(daemon_message("").empty());
    }

    TEST_CASE("docker_api: transport failures name the socket or the deadline")
    {
        namespace errc = boost::system::errc;
        CHECK(transport_failure_message(make_error_code(errc::no_such_file_or_directory), false, "/run/docker.sock", 60s)
              == "Docker socket /run/docker.sock unreachable: No such file or directory");
        CHECK(transport_failure_message(make_error_code(errc::permission_denied), false, "/s", 60s)
              == "Docker socket /s unreachable: Permission denied");
        CHECK(transport_failure_message(make_error_code(http_errc::timeout), true, "/s", 60s)
              == "Docker did not answer within 60 s");
        CHECK(transport_failure_message(make_error_code(http_errc::timeout), false, "/s", 2500ms)
              == "Docker did not answer within 2.5 s");
        CHECK(transport_failure_message(make_error_code(http_errc::connection_lost), true, "/s", 1s)
              == "Docker connection failed: connection closed before the response was complete");
        CHECK(transport_failure_message(boost::asio::error::operation_aborted, true, "/s", 1s)
              == "Docker request cancelled (the agent is stopping)");
    }
}
