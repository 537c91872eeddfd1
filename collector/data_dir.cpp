#include "collector/data_dir.hpp"

#include "collector/storage/sqlite_storage.hpp"
#include "collector/auth/jwt.hpp"
#include "common/file_util.hpp"
#include "common/log.hpp"

namespace corvid::collector {

std::string database_path(const collector_config& cfg) { return cfg.data_dir + "/corvid.db"; }
std::string token_secret_path(const collector_config& cfg) { return cfg.data_dir + "/jwt.key"; }
std::string command_key_path(const collector_config& cfg) { return cfg.data_dir + "/command_signing.key"; }

boost::system::result<signing_key_pair> load_command_keys(const collector_config& cfg)
{
    if (auto ec = make_directories(cfg.data_dir, 0750))
        return ec;
    const auto path = command_key_path(cfg);
    auto secret = load_or_create_secret(path, signing_secret_key_bytes,
                                        [] { return generate_signing_key_pair().secret_key; });
    if (!secret)
        return secret.error();
    auto pair = signing_key_pair_from_secret(*secret);
    if (!pair) {
        log::error("{} does not hold an Ed25519 secret key; restore it from a backup (agents trust its public key)",
                   path);
        return make_error_code(secret_errc::wrong_size);
    }
    return std::move(*pair);
}

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
