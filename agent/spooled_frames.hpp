#pragma once
// What the agent keeps in its spools, and the frames built from it when sending.
// metrics: the payload is the sample's "data" object (proto::encode_sample_data); the frame needs
// the server id, known only after auth_success, so it is spliced in at send time.
// logs: the payload is the log reader's positions (one line) and the whole `log` frame, whose seq
// is known when it is written (the spool's next seq); the positions let a restart continue
// reading exactly after the last batch that reached the spool.
#include <cstdint>
#include <string>
#include <string_view>

namespace corvid::agent {

// {"type":"metrics","server_id":…,"seq":…, + the sample fields}: the bytes proto::encode(metrics) gives.
std::string metrics_frame(std::string_view server_id, std::uint64_t seq, std::string_view sample_data_json);

// positions must not hold a newline (JSON text from the log reader never does).
std::string log_payload(std::string_view positions, std::string_view frame);
std::string_view log_payload_frame(std::string_view payload);
std::string_view log_payload_positions(std::string_view payload);

} // namespace corvid::agent
