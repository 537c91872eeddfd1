#pragma once
// The files of the collector's data directory, and opening its database. Blocking; start-up only.
#include <boost/system/result.hpp>
#include <memory>
#include <string>

#include "collector/config.hpp"
#include "collector/storage/storage.hpp"

namespace corvid::collector {

std::string database_path(const collector_config& cfg);    // <data_dir>/corvid.db
std::string token_secret_path(const collector_config& cfg); // <data_dir>/jwt.key

// Creates the data directory (0750) if needed and opens the database; `migrate` brings the schema
// up to date (the server's write connection and the CLI do; read connections do not).
boost::system::result<std::unique_ptr<storage>> open_database(const collector_config& cfg, bool migrate);

} // namespace corvid::collector
