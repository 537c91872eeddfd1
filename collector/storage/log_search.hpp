#pragma once
// The `search` of a log filter (REST ?search=, a logs socket's subscribe), parsed once and used
// twice: as SQL by query_logs and in memory by the live filter of a logs socket, so a stored entry
// and a live one match exactly the same searches (PROTOCOL.md section 11.4).
//
// A text is a *query* when it holds a double quote, a parenthesis, one of the words AND, OR, NOT
// (upper case, standing alone) or a word ending in '*'; any other text is one *literal*
// substring, spaces included.
//   query   := or
//   or      := and ("OR" and)*
//   and     := not (["AND"] not)*          two terms side by side mean AND
//   not     := primary ("NOT" primary)*    "a NOT b": a, and not b
//   primary := "(" or ")" | '"' phrase '"' | word
// A word runs to the next space, quote or parenthesis; a trailing '*' is dropped (FTS5's prefix
// mark: every term already matches inside words). In a phrase, "" stands for one quote. Every
// term matches as a substring of the message, case-insensitively for ASCII letters. A text that
// looks like a query but does not parse (an unclosed quote, "a OR"), or has more than 32 terms or
// 8 levels of parentheses, is taken as a literal, so no search is ever an error.
//
// SQL: the exact condition is instr(lower(message), term) per term, combined as parsed; when the
// terms allow it, a prefilter on the trigram full-text index (schema v3) narrows the rows first.
// The prefilter only ever admits a superset of the exact matches, so it changes speed, not results.
// Pure; a parsed search is immutable and may be shared between threads.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corvid::collector {

class log_search {
public:
    static log_search parse(std::string_view text);

    const std::string& text() const { return text_; }
    bool is_query() const { return query_; }
    // Whether `message` matches. `lowered` says the caller already applied ascii_lower() to it.
    bool matches(std::string_view message) const;
    bool matches_lowered(std::string_view lowered_message) const;

    // The exact condition as SQL over `lowered_column` (e.g. "lower(l.message)"), its terms as
    // numbered parameters starting at ?first_param, appended to `params` in order.
    std::string sql_condition(std::string_view lowered_column, int first_param, std::vector<std::string>& params) const;
    // An FTS5 query for a trigram index (detail=none) that every matching message also matches,
    // or nothing when no such query narrows anything (terms shorter than three characters).
    std::optional<std::string> fts_prefilter() const;

private:
    enum class kind { term, all_of, any_of, but_not };
    struct node {
        kind k = kind::term;
        std::string term; // lowered
        std::vector<int> children;
    };
    bool eval(int n, std::string_view lowered) const;
    void sql(int n, std::string_view column, int& param, std::vector<std::string>& params, std::string& out) const;
    std::optional<std::string> prefilter(int n) const;

    std::string text_;
    bool query_ = false;
    std::vector<node> nodes_; // nodes_[root_] is the root
    int root_ = 0;

    friend class log_search_parser;
};

// `s` with A-Z turned into a-z; other bytes (UTF-8 included) unchanged.
std::string ascii_lower(std::string_view s);

} // namespace corvid::collector
