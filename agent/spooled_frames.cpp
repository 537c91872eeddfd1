#include "agent/spooled_frames.hpp"

#include <fmt/format.h>

#include "common/json_text.hpp"

namespace corvid::agent {

std::string metrics_frame(std::string_view server_id, std::uint64_t seq, std::string_view sample_data_json)
{
    std::string out;
    out.reserve(sample_data_json.size() + server_id.size() + 64);
    out.append(R"({"type":"metrics","server_id":)");
    append_json_string(out, server_id);
    fmt::format_to(std::back_inserter(out), R"(,"seq":{},)", seq);
    if (!sample_data_json.empty())
        out.append(sample_data_json.substr(1)); // past the data object's '{'
    return out;
}

std::string log_payload(std::string_view positions, std::string_view frame)
{
    std::string out;
    out.reserve(positions.size() + 1 + frame.size());
    out.append(positions);
    out.push_back('\n');
    out.append(frame);
    return out;
}

std::string_view log_payload_frame(std::string_view payload)
{
    const auto nl = payload.find('\n');
    return nl == std::string_view::npos ? payload : payload.substr(nl + 1);
}

std::string_view log_payload_positions(std::string_view payload)
{
    const auto nl = payload.find('\n');
    return nl == std::string_view::npos ? std::string_view() : payload.substr(0, nl);
}

} // namespace corvid::agent
