// open_sqlite_storage: a connection, configured, its schema brought up to date.
#include "collector/storage/sqlite_storage.hpp"

#include "collector/storage/sqlite_schema.hpp"
#include "collector/storage/sqlite_storage_impl.hpp"

namespace corvid::collector {

boost::system::error_code sqlite::sqlite_storage::open(const sqlite_options& o)
{
    if (auto ec = db_.open(o))
        return ec;
    if (auto ec = migrate(db_, o.migrate))
        return ec;
    db_.optimize_on_close();
    return {};
}

boost::system::result<std::unique_ptr<storage>> open_sqlite_storage(const sqlite_options& options)
{
    auto self = std::make_unique<sqlite::sqlite_storage>(options);
    if (auto ec = self->open(options))
        return ec;
    return std::unique_ptr<storage>(std::move(self));
}

} // namespace corvid::collector
