#include "collector/live/live_sample.hpp"

#include "common/json_text.hpp"

namespace corvid::collector {

live_sample::live_sample(std::string server_id, proto::sample_data data, const std::string& data_json)
    : server_id_(std::move(server_id)), data_(std::move(data))
{
    // Same bytes as proto::encode_frontend_metrics(server_id, data), from the stored encoding.
    std::string msg = R"({"type":"metrics","server_id":)";
    append_json_string(msg, server_id_);
    msg += R"(,"data":)";
    msg += data_json;
    msg += '}';
    full_ = std::make_shared<const std::string>(std::move(msg));
}

std::shared_ptr<const std::string> live_sample::message(proto::field_mask mask) const
{
    if (mask == proto::all_fields)
        return full_;
    auto& slot = selected_[mask];
    if (!slot)
        slot = std::make_shared<const std::string>(proto::encode_frontend_metrics(server_id_, data_, mask));
    return slot;
}

} // namespace corvid::collector
