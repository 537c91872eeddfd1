#include "collector/auth/password_pool.hpp"

#include <algorithm>

namespace corvid::collector {

password_pool::password_pool(options o)
    : options_{std::max<std::size_t>(o.threads, 1), o.max_waiting}, pool_(options_.threads)
{
}

password_pool::~password_pool() { pool_.join(); }

} // namespace corvid::collector
