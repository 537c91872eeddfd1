// Fuzz target: the wire protocol decoders (proto/codec.hpp) for every receiver (agent, collector,
// the metrics and the logs socket) and the stored sample. Invariant: whatever a decoder accepts,
// the encoder writes back as JSON that the same decoder reads to an equal value
// (decode . encode . decode == decode), and every error has a message naming what was wrong.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "fuzz/fuzz_check.hpp"
#include "proto/codec.hpp"

namespace proto = corvid::proto;

namespace {

template <class Variant, class Decode> void round_trip(std::string_view text, Decode decode)
{
    auto first = decode(text);
    if (!first) {
        FUZZ_CHECK(!first.error().message.empty());
        return;
    }
    const std::string again = std::visit([](const auto& m) { return proto::encode(m); }, *first);
    auto second = decode(again);
    if (!second)
        std::fprintf(stderr, "re-encoded: %s\nerror: %s\n", again.c_str(), second.error().message.c_str());
    FUZZ_CHECK(second.has_value());
    FUZZ_CHECK(*second == *first);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size > proto::max_frame_bytes)
        return 0; // refused before parsing, as the sessions do
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    round_trip<proto::from_agent>(text, [](std::string_view t) { return proto::decode_from_agent(t); });
    round_trip<proto::from_collector>(text, [](std::string_view t) { return proto::decode_from_collector(t); });
    round_trip<proto::from_frontend>(text, [](std::string_view t) { return proto::decode_from_frontend(t); });
    round_trip<proto::from_log_frontend>(text,
                                         [](std::string_view t) { return proto::decode_from_log_frontend(t); });

    // What the collector forwards of an accepted log batch must stay valid for frontends and REST.
    if (auto m = proto::decode_from_agent(text); m && std::holds_alternative<proto::log_batch>(*m))
        for (const auto& e : std::get<proto::log_batch>(*m).entries)
            FUZZ_CHECK(!proto::encode_frontend_log(e).empty());

    if (auto s = proto::decode_sample_data(text)) {
        const std::string again = proto::encode_sample_data(*s);
        auto back = proto::decode_sample_data(again);
        if (!back)
            std::fprintf(stderr, "re-encoded: %s\nerror: %s\n", again.c_str(), back.error().message.c_str());
        FUZZ_CHECK(back.has_value());
        FUZZ_CHECK(*back == *s);
        // What the collector sends to frontends must stay parseable as well.
        const std::string history = proto::encode_history({*s});
        FUZZ_CHECK(!history.empty());
    }
    return 0;
}
