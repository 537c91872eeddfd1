#include "agent/spooled_frames.hpp"

#include <doctest/doctest.h>

#include "proto/codec.hpp"
#include "tests/proto/samples.hpp"

TEST_SUITE("agent.spooled_frames")
{
    TEST_CASE("metrics_frame gives the bytes of proto::encode(metrics)")
    {
        corvid::proto::metrics m;
        m.server_id = "srv-\"1\"";
        m.seq = 1767225600000000;
        m.data = corvid::proto::test::full_sample();
        const auto payload = corvid::proto::encode_sample_data(m.data);
        CHECK(corvid::agent::metrics_frame(m.server_id, m.seq, payload) == corvid::proto::encode(m));
        auto decoded = corvid::proto::decode_from_agent(corvid::agent::metrics_frame(m.server_id, m.seq, payload));
        REQUIRE(decoded.has_value());
        CHECK(std::get<corvid::proto::metrics>(*decoded) == m);
    }

    TEST_CASE("log payload: positions line, then the frame")
    {
        const auto p = corvid::agent::log_payload(R"({"files":{}})", R"({"type":"log","seq":7,"entries":[]})");
        CHECK(corvid::agent::log_payload_positions(p) == R"({"files":{}})");
        CHECK(corvid::agent::log_payload_frame(p) == R"({"type":"log","seq":7,"entries":[]})");
    }
}
