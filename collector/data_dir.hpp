#pragma once
// The files of the collector's data directory, and opening its database. Blocking; start-up only.
#include <boost/system/result.hpp>
#include <memory>
#include <string>

#include "collector/config.hpp"
#include "collector/storage/storage.hpp"
#include "common/signing.hpp"

namespace corvid::collector {

std::string database_path(const collector_config& cfg);    // <data_dir>/corvid.db
std::string token_secret_path(const collector_config& cfg); // <data_dir>/jwt.key
std::string command_key_path(const collector_config& cfg);  // <data_dir>/command_signing.key

// The Ed25519 key pair that signs commands, created (0600) on first use. Errors are logged.
boost::system::result<signing_key_pair> load_command_keys(const collector_config& cfg);

// Creates the data directory (0750) if needed and opens the database; `migrate` brings the schema
// up to date (the server's write connection and the CLI do; read connections do not).
boost::system::result<std::unique_ptr<storage>> open_database(const collector_config& cfg, bool migrate);

} // namespace corvid::collector
