#pragma once
// Helpers for the metrics tests: fixture files under tests/fixtures/, scratch directories, and a
// capture of stderr (where corvid::log writes) so tests can count log lines.
// Test-thread only.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>

#include "tests/support/temp_dir.hpp"

namespace corvid::test {

inline std::string fixture_path(std::string_view relative)
{
    return std::string(CORVID_SOURCE_DIR) + "/tests/fixtures/" + std::string(relative);
}

inline std::string read_text_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot open " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

inline std::string read_fixture(std::string_view relative) { return read_text_file(fixture_path(relative)); }

inline void write_text_file(const std::filesystem::path& path, std::string_view text)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out)
        throw std::runtime_error("cannot write " + path.string());
}


// Sends fd 2 to a file until destroyed; text() is what was written so far.
class stderr_capture {
public:
    stderr_capture() : file_(dir_.file("stderr"))
    {
        std::fflush(stderr);
        saved_ = ::dup(STDERR_FILENO);
        std::FILE* f = std::fopen(file_.c_str(), "w");
        if (saved_ < 0 || f == nullptr)
            throw std::runtime_error("cannot capture stderr");
        ::dup2(::fileno(f), STDERR_FILENO);
        std::fclose(f);
    }
    ~stderr_capture()
    {
        std::fflush(stderr);
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
    }
    stderr_capture(const stderr_capture&) = delete;
    stderr_capture& operator=(const stderr_capture&) = delete;

    std::string text() const { return read_text_file(file_.string()); }

    // How many captured lines contain `needle`.
    int count_lines_with(std::string_view needle) const
    {
        std::istringstream lines(text());
        int n = 0;
        for (std::string line; std::getline(lines, line);)
            if (line.find(needle) != std::string::npos)
                ++n;
        return n;
    }

private:
    temp_dir dir_;
    std::filesystem::path file_;
    int saved_ = -1;
};

} // namespace corvid::test
