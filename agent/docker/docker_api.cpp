#include "agent/docker/docker_api.hpp"

#include "proto/codec.hpp"

#include <boost/asio/error.hpp>
#include <charconv>
#include <fmt/format.h>

#include "agent/docker/docker_json.hpp"
#include "agent/docker/unix_http.hpp"

namespace corvid::agent::docker {

std::string api_version::text() const { return fmt::format("{}.{}", major, minor); }
std::string api_version::prefix() const { return fmt::format("/v{}.{}", major, minor); }

namespace {
std::optional<int> small_number(std::string_view s)
{
    if (s.empty() || s.size() > 3)
        return std::nullopt;
    int n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || end != s.data() + s.size())
        return std::nullopt;
    return n;
}

constexpr std::string_view action_names[] = {"start", "stop", "restart", "pause", "unpause", "kill", "remove"};
constexpr std::string_view done_words[] = {"started", "stopped", "restarted", "paused",
                                           "unpaused", "killed", "removed"};
} // namespace

std::optional<api_version> parse_api_version(std::string_view text)
{
    const auto dot = text.find('.');
    if (dot == std::string_view::npos)
        return std::nullopt;
    auto major = small_number(text.substr(0, dot));
    auto minor = small_number(text.substr(dot + 1));
    if (!major || !minor)
        return std::nullopt;
    return api_version{*major, *minor};
}

std::optional<api_version> negotiate_api_version(std::string_view daemon_version)
{
    auto v = parse_api_version(daemon_version);
    if (!v || *v < min_supported_api)
        return std::nullopt;
    return std::min(*v, max_supported_api);
}

std::optional<action> parse_action(std::string_view name)
{
    for (std::size_t i = 0; i < std::size(action_names); ++i)
        if (name == action_names[i])
            return static_cast<action>(i);
    return std::nullopt;
}

std::string_view action_name(action a) { return action_names[static_cast<std::size_t>(a)]; }

bool valid_container_id(std::string_view id) { return proto::is_container_ref(id); }

action_request make_action_request(api_version v, action a, std::string_view id)
{
    if (a == action::remove)
        return {true, fmt::format("{}/containers/{}", v.prefix(), id)};
    return {false, fmt::format("{}/containers/{}/{}", v.prefix(), id, action_name(a))};
}

std::string daemon_message(std::string_view body)
{
    std::string text;
    if (auto b = parse_error_body(body))
        text = std::move(b->message);
    else
        text.assign(body.substr(0, 4096));
    for (auto& c : text)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            c = ' ';
    const auto first = text.find_first_not_of(' ');
    if (first == std::string::npos)
        return {};
    text.erase(0, first);
    text.erase(text.find_last_not_of(' ') + 1);
    std::size_t n = std::min<std::size_t>(text.size(), 512);
    while (n > 0 && n < text.size() && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80)
        --n;
    text.resize(n);
    return text;
}

action_outcome map_action_response(action a, std::string_view id, unsigned status, std::string_view body)
{
    const auto word = done_words[static_cast<std::size_t>(a)];
    if (status >= 200 && status < 300)
        return {true, fmt::format("Container {}", word)};
    if (status == 304) // only start and stop answer 304
        return {false, fmt::format("Container already {}", word)};
    if (status == 404)
        return {false, fmt::format("No such container: {}", id)};
    const auto parsed = parse_error_body(body);
    std::string msg = daemon_message(body);
    if (msg.empty())
        msg = fmt::format("HTTP {}", status);
    // podman ends each message with ": <cause>", which repeats what the message said.
    if (parsed && !parsed->cause.empty()) {
        const std::string suffix = ": " + parsed->cause;
        if (msg.size() > suffix.size() && msg.ends_with(suffix))
            msg.resize(msg.size() - suffix.size());
    }
    // podman answers a conflict of states (pause a paused container, kill a stopped one) with
    // 500 and cause "container state improper" where Docker answers 409: the same thing.
    const bool conflict = status == 409 || (status == 500 && parsed && parsed->cause == "container state improper");
    if (conflict)
        return {false, std::move(msg)};
    if (status >= 500)
        return {false, fmt::format("Docker error: {}", msg)};
    return {false, fmt::format("Docker refused {}: {} (HTTP {})", action_name(a), msg, status)};
}

std::string transport_failure_message(const boost::system::error_code& ec, bool connected,
                                      std::string_view socket_path, std::chrono::milliseconds timeout)
{
    if (ec == http_errc::timeout) {
        const auto ms = timeout.count();
        if (ms % 1000 == 0)
            return fmt::format("Docker did not answer within {} s", ms / 1000);
        return fmt::format("Docker did not answer within {:.1f} s", static_cast<double>(ms) / 1000.0);
    }
    if (ec == boost::asio::error::operation_aborted)
        return "Docker request cancelled (the agent is stopping)";
    if (!connected)
        return fmt::format("Docker socket {} unreachable: {}", socket_path, ec.message());
    return fmt::format("Docker connection failed: {}", ec.message());
}

} // namespace corvid::agent::docker
