// Role names (collector/auth/role.hpp) as stored and sent, and the storage error category.
#include "collector/auth/role.hpp"

#include <doctest/doctest.h>
#include <string>

#include "collector/storage/storage_error.hpp"

using namespace corvid::collector;

TEST_SUITE("storage")
{
    TEST_CASE("storage: role names round trip")
    {
        for (auto r : {role::viewer, role::operator_, role::admin})
            CHECK(role_from_name(role_name(r)) == r);
        CHECK(role_name(role::operator_) == "operator");
        CHECK_FALSE(role_from_name("root").has_value());
        CHECK_FALSE(role_from_name("Admin").has_value());
        CHECK(role::admin > role::operator_);
        CHECK(make_error_code(storage_errc::busy).category().name() == std::string("corvid.storage"));
        static_assert(role_from_name("admin") == role::admin); // usable at compile time
    }
}
