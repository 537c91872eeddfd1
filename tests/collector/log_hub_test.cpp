#include "collector/live/log_hub.hpp"

#include <doctest/doctest.h>
#include <string>
#include <vector>

using namespace corvid::collector;
using corvid::proto::log_entry;

namespace {
constexpr std::int64_t t0 = 1'767'225'605'000;

live_log_ptr make_log(std::int64_t id, std::string message, std::string level = "INFO",
                      std::string source = "/var/log/syslog")
{
    return std::make_shared<const live_log>(id, log_entry{t0 + id, std::move(level), std::move(source),
                                                          std::move(message), false});
}

// A subscriber as a logs socket is one: a filter and an outbox, drained by the test.
struct subscriber final : log_subscriber {
    live_log_filter filter;
    log_outbox outbox;
    explicit subscriber(log_outbox::limits l = {}) : outbox(l) {}
    void deliver_logs(const std::vector<live_log_ptr>& entries) override
    {
        for (const auto& e : entries)
            if (filter.matches(*e))
                outbox.push(e);
    }
    std::vector<std::string> drain()
    {
        std::vector<std::string> frames;
        while (auto f = outbox.pop())
            frames.push_back(*f);
        return frames;
    }
};

std::string frame_of(const live_log_ptr& e) { return *e->frame(); }
} // namespace

TEST_SUITE("collector.log_hub")
{
    TEST_CASE("live_log: the frame is the frontend log message, encoded once")
    {
        auto e = make_log(1, "Disk FULL", "ERROR");
        CHECK(*e->frame()
              == R"({"type":"log","data":{"timestamp":"2026-01-01T00:00:05.001Z","level":"ERROR",)"
                 R"("source":"/var/log/syslog","message":"Disk FULL"}})");
        CHECK(e->level() == 4);
        CHECK(e->lowered_message() == "disk full");
        CHECK(e->frame().get() == e->frame().get());
    }

    TEST_CASE("log_hub: a subscriber gets only its server's entries, in order, gone ones are skipped")
    {
        log_hub h;
        auto a = std::make_shared<subscriber>();
        auto b = std::make_shared<subscriber>();
        h.join("A", a);
        h.join("B", b);
        {
            auto gone = std::make_shared<subscriber>();
            h.join("A", gone);
        }
        CHECK(h.subscriber_count() == 2);
        CHECK(h.has_subscribers("A"));
        CHECK_FALSE(h.has_subscribers("C"));
        const auto e1 = make_log(1, "one"), e2 = make_log(2, "two");
        h.publish("A", {e1, e2});
        h.publish("B", {make_log(3, "three")});
        CHECK(a->drain() == std::vector<std::string>{frame_of(e1), frame_of(e2)});
        CHECK(b->drain().size() == 1);
        h.leave("A", a.get());
        CHECK_FALSE(h.has_subscribers("A"));
        h.publish("A", {make_log(4, "four")});
        CHECK(a->drain().empty());
        h.forget_server("B");
        CHECK(h.subscriber_count() == 0);
    }

    TEST_CASE("live_log_filter: minimum level, exact source, search")
    {
        live_log_filter f;
        CHECK(f.matches(*make_log(1, "anything", "DEBUG")));
        f.min_level = 3; // WARN
        CHECK_FALSE(f.matches(*make_log(1, "x", "NOTICE")));
        CHECK(f.matches(*make_log(1, "x", "WARN")));
        CHECK(f.matches(*make_log(1, "x", "CRIT")));
        f.source = "/var/log/a.log";
        CHECK_FALSE(f.matches(*make_log(1, "x", "CRIT")));
        CHECK(f.matches(*make_log(1, "x", "CRIT", "/var/log/a.log")));
        CHECK_FALSE(f.matches(*make_log(1, "x", "CRIT", "/var/log/a.log.1")));
        f.search = log_search::parse("TimeOut");
        CHECK_FALSE(f.matches(*make_log(1, "all fine", "CRIT", "/var/log/a.log")));
        CHECK(f.matches(*make_log(1, "read TIMEOUTS", "CRIT", "/var/log/a.log")));
        const auto storage = f.storage_filter();
        CHECK(storage.min_level == 3);
        CHECK(storage.search == "TimeOut");
        CHECK(storage.source == "/var/log/a.log");
    }

    TEST_CASE("log_search: literals, queries and what falls back to a literal")
    {
        const auto m = [](const char* search, const char* message) {
            return log_search::parse(search).matches(message);
        };
        CHECK(m("connection refused", "Connection Refused by peer"));
        CHECK_FALSE(m("connection refused", "refused connection"));
        CHECK_FALSE(log_search::parse("connection refused").is_query());
        CHECK(log_search::parse("a AND b").is_query());
        CHECK(m("refused AND connection", "refused connection"));
        CHECK(m("refused connection", "connection was refused") == false); // a literal
        CHECK(m("\"refused\" connection", "connection was refused"));      // a query: implicit AND
        CHECK(m("disk OR memory", "out of memory"));
        CHECK_FALSE(m("disk OR memory", "cpu hot"));
        CHECK(m("error NOT debug", "error in module"));
        CHECK_FALSE(m("error NOT debug", "debug error"));
        CHECK(m("(disk OR memory) NOT (test OR dry)", "disk full"));
        CHECK_FALSE(m("(disk OR memory) NOT (test OR dry)", "disk full (dry run)"));
        CHECK(m("\"say \"\"hi\"\"\"", "they say \"hi\" there"));
        CHECK(m("time*", "timeout"));
        // Not a valid query: the whole text is a literal, so nothing about it is an error.
        CHECK_FALSE(log_search::parse("(unclosed").is_query());
        CHECK(m("(unclosed", "f(unclosed"));
        CHECK(m("\"open", "an \"open quote"));
        CHECK(m("a OR", "A or b")); // the literal "a or", case-insensitively
        CHECK_FALSE(m("a OR", "a b"));
        CHECK(m("a OR", "this is a OR"));
        CHECK(m("NOT", "i do NOT know"));
        std::string deep;
        for (int i = 0; i < 9; ++i)
            deep += "(";
        deep += "x";
        for (int i = 0; i < 9; ++i)
            deep += ")";
        CHECK_FALSE(log_search::parse(deep).is_query()); // deeper than 8: literal
        std::string many;
        for (int i = 0; i < 33; ++i)
            many += "t" + std::to_string(i) + " OR ";
        many += "end";
        CHECK_FALSE(log_search::parse(many).is_query()); // more than 32 terms: literal
    }

    TEST_CASE("log_search: the index prefilter uses trigrams of terms of three characters or more")
    {
        CHECK(log_search::parse("ab").fts_prefilter() == std::nullopt);
        CHECK(log_search::parse("abcd").fts_prefilter() == R"("abc" AND "bcd")");
        CHECK(log_search::parse("ABC").fts_prefilter() == R"("abc")");
        // An unclosed quote makes the text a literal; in FTS5 strings a quote is doubled.
        CHECK(log_search::parse("a\"b").fts_prefilter() == R"("a""b")");
        // Trigrams of characters, not bytes: "été" is one trigram.
        CHECK(log_search::parse("\xc3\xa9t\xc3\xa9").fts_prefilter() == "\"\xc3\xa9t\xc3\xa9\"");
        // An OR narrows only if each branch does; an AND uses the branches that do; NOT's right side never.
        CHECK(log_search::parse("abc OR de").fts_prefilter() == std::nullopt);
        CHECK(log_search::parse("abc AND de").fts_prefilter() == R"(("abc"))");
        CHECK(log_search::parse("abc de").fts_prefilter() == R"(" de" AND "abc" AND "bc " AND "c d")"); // a literal
        CHECK(log_search::parse("abc NOT xyz").fts_prefilter() == R"("abc")");
        CHECK(log_search::parse("abc OR xyz").fts_prefilter() == R"(("abc") OR ("xyz"))");
        std::vector<std::string> params;
        CHECK(log_search::parse("Abc OR (d NOT e)").sql_condition("lower(m)", 4, params)
              == "(instr(lower(m), ?4) > 0 OR (instr(lower(m), ?5) > 0 AND NOT instr(lower(m), ?6) > 0))");
        CHECK(params == std::vector<std::string>{"abc", "d", "e"});
    }

    TEST_CASE("log_outbox: bounded by entries, when full it counts, then reports the loss once drained")
    {
        log_outbox box(log_outbox::limits{3, 1 << 20});
        std::vector<live_log_ptr> logs;
        for (int i = 1; i <= 6; ++i)
            logs.push_back(make_log(i, "m" + std::to_string(i)));
        CHECK(box.push(logs[0]));
        CHECK(box.push(logs[1]));
        CHECK(box.push(logs[2]));
        CHECK_FALSE(box.push(logs[3])); // full: counted
        CHECK(*box.pop() == frame_of(logs[0]));
        // Room again, but the loss is not reported yet: later entries keep being counted until the
        // queue has drained, so the marker sits exactly where entries are missing.
        CHECK_FALSE(box.push(logs[4]));
        CHECK(box.dropped() == 2);
        CHECK(*box.pop() == frame_of(logs[1]));
        CHECK(*box.pop() == frame_of(logs[2]));
        CHECK(*box.pop() == R"({"type":"dropped","count":2})");
        CHECK(box.pop() == nullptr);
        CHECK(box.push(logs[5])); // and on it goes
        CHECK(*box.pop() == frame_of(logs[5]));
        CHECK_FALSE(box.has_frame());
    }

    TEST_CASE("log_outbox: bounded by bytes, one large entry still fits an empty queue")
    {
        const auto big = make_log(1, std::string(3000, 'x'));
        const auto small = make_log(2, "y");
        log_outbox box(log_outbox::limits{1000, 2000});
        CHECK(box.push(big)); // larger than the byte bound, but alone
        CHECK_FALSE(box.push(small));
        CHECK(box.bytes() == big->frame()->size());
        CHECK(*box.pop() == frame_of(big));
        CHECK(*box.pop() == R"({"type":"dropped","count":1})");
        CHECK(box.push(small));
        CHECK(box.bytes() == small->frame()->size());
    }

    TEST_CASE("log_outbox: clear forgets entries and losses, drop_up_to removes what history sent")
    {
        log_outbox box(log_outbox::limits{2, 1 << 20});
        box.push(make_log(1, "a"));
        box.push(make_log(5, "b"));
        box.push(make_log(9, "c")); // dropped
        box.clear();
        CHECK_FALSE(box.has_frame());
        CHECK(box.bytes() == 0);
        CHECK(box.push(make_log(3, "d")));
        CHECK(box.push(make_log(7, "e")));
        box.drop_up_to(5);
        CHECK(box.size() == 1);
        CHECK(*box.pop() == frame_of(make_log(7, "e")));
        CHECK(box.bytes() == 0);
    }

    TEST_CASE("log_hub: a subscriber that does not drain never holds up the others or grows")
    {
        log_hub h;
        auto slow = std::make_shared<subscriber>(log_outbox::limits{100, 1 << 20});
        auto fast = std::make_shared<subscriber>();
        fast->filter.min_level = 4; // ERROR and up
        h.join("A", slow);
        h.join("A", fast);
        std::size_t fast_frames = 0;
        for (int batch = 0; batch < 20; ++batch) { // 20 000 entries, as a burst
            std::vector<live_log_ptr> entries;
            for (int i = 0; i < 1000; ++i) {
                const auto id = batch * 1000 + i + 1;
                entries.push_back(make_log(id, "line", i % 10 == 0 ? "ERROR" : "INFO"));
            }
            h.publish("A", entries);
            fast_frames += fast->drain().size();
            CHECK(slow->outbox.size() <= 100);
        }
        CHECK(fast_frames == 2000);
        const auto frames = slow->drain();
        REQUIRE(frames.size() == 101);
        CHECK(frames.back() == R"({"type":"dropped","count":19900})");
    }
}
