#pragma once
// For tests: a private directory under the system temp dir, removed with everything in it when the
// test ends; files in it can be written with an exact mode (the runner's umask does not matter).
// Single-threaded use.
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "common/file_util.hpp"

namespace corvid::test {

class temp_dir {
public:
    temp_dir()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "corvid-test-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr)
            throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~temp_dir()
    {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::string& path() const { return path_; }
    std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

    // Writes `name` with exactly `mode` and returns its path.
    std::string write(std::string_view name, std::string_view content, mode_t mode = 0600) const
    {
        const std::string p = file(name);
        if (write_file_atomic(p, content, mode))
            throw std::runtime_error("cannot write " + p);
        return p;
    }

private:
    std::string path_;
};

} // namespace corvid::test
