#include "collector/http/json_body.hpp"

#include <doctest/doctest.h>

using corvid::collector::read_string_fields;

TEST_SUITE("collector.json_body")
{
    TEST_CASE("read_string_fields: the named strings, other fields ignored")
    {
        auto r = read_string_fields(R"({"username":"alice","extra":[1,{"x":2}],"password":"p\"w"})",
                                    {"username", "password"});
        REQUIRE(r.has_value());
        CHECK(r->at("username") == "alice");
        CHECK(r->at("password") == "p\"w");
        CHECK(r->size() == 2);
    }

    TEST_CASE("read_string_fields: each kind of bad body has its own message")
    {
        CHECK(read_string_fields("", {"name"}).error().message == "the body is not valid JSON");
        CHECK(read_string_fields("{", {"name"}).error().message == "the body is not valid JSON");
        CHECK(read_string_fields("[1]", {"name"}).error().message == "the body must be a JSON object");
        CHECK(read_string_fields(R"({"name":"a"} x)", {"name"}).error().message == "the body is not valid JSON");
        CHECK(read_string_fields(R"({"other":"a"})", {"name"}).error().message == "field 'name' is required");
        CHECK(read_string_fields(R"({"name":5})", {"name"}).error().message == "field 'name' must be a string");
        CHECK(read_string_fields(R"({"name":null})", {"name"}).error().message == "field 'name' must be a string");
    }
}
