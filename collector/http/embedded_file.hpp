#pragma once
// One file compiled into the binary by cmake/embed_files.cmake (the web UI, the OpenAPI
// document): its name and bytes, constant for the life of the process. Any thread.
#include <span>
#include <string_view>

namespace corvid::collector::detail {

struct embedded_file {
    std::string_view name;
    std::string_view bytes;
};

} // namespace corvid::collector::detail
