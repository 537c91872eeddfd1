#include "collector/data_dir.hpp"

#include "collector/storage/sqlite_storage.hpp"
#include "common/file_util.hpp"

namespace corvid::collector {

std::string database_path(const collector_config& cfg) { return cfg.data_dir + "/corvid.db"; }
std::string token_secret_path(const collector_config& cfg) { return cfg.data_dir + "/jwt.key"; }

boost::system::result<std::unique_ptr<storage>> open_database(const collector_config& cfg, bool migrate)
{
    if (auto ec = make_directories(cfg.data_dir, 0750))
        return ec;
    sqlite_options o;
    o.path = database_path(cfg);
    o.full_sync = cfg.sqlite_synchronous == "full";
    o.migrate = migrate;
    return open_sqlite_storage(o);
}

} // namespace corvid::collector
