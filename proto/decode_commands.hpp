#pragma once
// Field readers of the command messages (PROTOCOL.md section 10), used by decode.cpp's per-receiver
// dispatch. Internal to proto/. Each returns false with the error kept in the reader.
#include "proto/json_reader.hpp"

namespace corvid::proto::detail {

bool read_command(json_reader& d, od::object root, command& m);
bool read_docker_command(json_reader& d, od::object root, docker_command& m);
bool read_command_output(json_reader& d, od::object root, command_output& m);
bool read_command_response(json_reader& d, od::object root, command_response& m);
bool read_docker_response(json_reader& d, od::object root, docker_response& m);

} // namespace corvid::proto::detail
