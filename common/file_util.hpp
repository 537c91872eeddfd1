#pragma once
// Small file helpers for config, key and secret files. Blocking: call at start-up or off the io thread.
#include <boost/system/result.hpp>
#include <string>
#include <sys/types.h>

namespace corvid {

// Reads a whole file, refusing anything larger than max_bytes (untrusted input stays bounded).
boost::system::result<std::string> read_file(const std::string& path, std::size_t max_bytes = 1 << 20);

// Writes via a temporary file, fsync and rename, so a crash leaves either the old or the new file.
// sync = false skips the fsync: still atomic across a process crash, not across a power cut.
boost::system::error_code write_file_atomic(const std::string& path, std::string_view content, mode_t mode,
                                            bool sync = true);

// True when the file's group or others may read (or write) it: secrets belong in 0600 files.
bool readable_by_group_or_others(const std::string& path);

// mkdir -p with the given mode for directories it creates.
boost::system::error_code make_directories(const std::string& path, mode_t mode);

} // namespace corvid
