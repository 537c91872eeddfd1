#include "collector/storage/storage_error.hpp"

#include <string>

namespace corvid::collector {
namespace {
class storage_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "corvid.storage"; }
    std::string message(int ev) const override
    {
        switch (static_cast<storage_errc>(ev)) {
        case storage_errc::io_error: return "storage I/O error";
        case storage_errc::corrupt: return "database file is not a database or is damaged";
        case storage_errc::busy: return "database is busy";
        case storage_errc::already_exists: return "already exists";
        case storage_errc::schema_too_new: return "database schema is newer than this program";
        case storage_errc::timed_out: return "query took longer than its deadline";
        case storage_errc::internal: return "internal storage error";
        }
        return "unknown storage error";
    }
};
} // namespace

const boost::system::error_category& storage_category()
{
    static const storage_category_impl instance;
    return instance;
}

boost::system::error_code make_error_code(storage_errc e) { return {static_cast<int>(e), storage_category()}; }

} // namespace corvid::collector
