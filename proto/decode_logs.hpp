#pragma once
// Field readers of the log and gap messages (PROTOCOL.md section 11), used by decode.cpp's
// per-receiver dispatch. Internal to proto/. Each returns false with the error kept in the reader.
#include "proto/json_reader.hpp"

namespace corvid::proto::detail {

bool read_log_batch(json_reader& d, od::object root, log_batch& m);
bool read_gap(json_reader& d, od::object root, gap& m);
bool read_log_subscribe(json_reader& d, od::object root, log_subscribe& m);

} // namespace corvid::proto::detail
