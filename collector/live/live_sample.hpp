#pragma once
// One committed sample on its way to frontends. The full-field frontend message is encoded once
// and shared by every subscriber; a subscriber that selected fields gets an encoding made once
// per distinct field selection and cached here.
// io thread only.
#include <map>
#include <memory>
#include <string>

#include "proto/codec.hpp"

namespace corvid::collector {

class live_sample {
public:
    live_sample(std::string server_id, proto::sample_data data, const std::string& data_json);

    const proto::sample_data& data() const { return data_; }
    std::int64_t timestamp_ms() const { return data_.timestamp_ms; }
    // {"type":"metrics","server_id":…,"data":{…fields in mask…}}
    std::shared_ptr<const std::string> message(proto::field_mask mask) const;

private:
    std::string server_id_;
    proto::sample_data data_;
    std::shared_ptr<const std::string> full_;
    mutable std::map<proto::field_mask, std::shared_ptr<const std::string>> selected_;
};

using live_sample_ptr = std::shared_ptr<const live_sample>;

} // namespace corvid::collector
