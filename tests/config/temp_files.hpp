#pragma once
// Test helpers for the config tests: the documented defaults of the example configs, and an argv
// built from strings (the temporary directory is tests/support/temp_dir.hpp). Single-threaded, tests only.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <vector>

#include "tests/support/temp_dir.hpp"

namespace corvid::test {


// The example configs under packaging/ show each optional key as a "# key = default" line;
// this uncomments those lines (except the ones named in `skip`) so a test can check that the
// documented defaults are the real ones.
inline std::string uncomment_defaults(std::string_view text, std::initializer_list<std::string_view> skip = {})
{
    std::string out;
    while (!text.empty()) {
        const auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (line.starts_with("# ")) {
            const auto rest = line.substr(2);
            const auto key_end = rest.find_first_not_of("abcdefghijklmnopqrstuvwxyz_");
            const auto key = rest.substr(0, key_end);
            const bool skipped = std::find(skip.begin(), skip.end(), key) != skip.end();
            if (!key.empty() && key_end != std::string_view::npos && rest.substr(key_end).starts_with(" = ") && !skipped)
                line = rest;
        }
        out.append(line);
        out.push_back('\n');
    }
    return out;
}

// argv with argv[0] = the program name, as main() receives it.
class args {
public:
    args(std::initializer_list<std::string> words) : words_(words)
    {
        ptrs_.push_back("corvid-test");
        for (const auto& w : words_)
            ptrs_.push_back(w.c_str());
    }
    args(const args&) = delete; // ptrs_ points into words_
    args& operator=(const args&) = delete;
    int argc() const { return static_cast<int>(ptrs_.size()); }
    const char* const* argv() const { return ptrs_.data(); }

private:
    std::vector<std::string> words_;
    std::vector<const char*> ptrs_;
};

} // namespace corvid::test
