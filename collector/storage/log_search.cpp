#include "collector/storage/log_search.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <set>

#include "common/json_text.hpp"

namespace corvid::collector {

std::string ascii_lower(std::string_view s)
{
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

namespace {
constexpr std::size_t max_terms = 32;
constexpr int max_depth = 8;
// Trigrams taken from one term for the prefilter: any subset keeps it a superset, and a few
// already narrow a search to almost nothing; hundreds would only slow FTS5 down.
constexpr std::size_t max_trigrams_per_term = 12;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

struct token {
    enum type { word, phrase, open, close, op_and, op_or, op_not, end, bad } t = end;
    std::string text;
};

// Splits a search text into tokens; `bad` for an unclosed quote.
std::vector<token> tokenize(std::string_view s)
{
    std::vector<token> out;
    std::size_t i = 0;
    while (i < s.size()) {
        const char c = s[i];
        if (is_space(c)) {
            ++i;
        } else if (c == '(' || c == ')') {
            out.push_back({c == '(' ? token::open : token::close, {}});
            ++i;
        } else if (c == '"') {
            std::string text;
            bool closed = false;
            for (++i; i < s.size(); ++i) {
                if (s[i] != '"') {
                    text.push_back(s[i]);
                } else if (i + 1 < s.size() && s[i + 1] == '"') {
                    text.push_back('"');
                    ++i;
                } else {
                    closed = true;
                    ++i;
                    break;
                }
            }
            out.push_back({closed ? token::phrase : token::bad, std::move(text)});
        } else {
            const auto start = i;
            while (i < s.size() && !is_space(s[i]) && s[i] != '"' && s[i] != '(' && s[i] != ')')
                ++i;
            std::string word(s.substr(start, i - start));
            if (word == "AND")
                out.push_back({token::op_and, {}});
            else if (word == "OR")
                out.push_back({token::op_or, {}});
            else if (word == "NOT")
                out.push_back({token::op_not, {}});
            else
                out.push_back({token::word, std::move(word)});
        }
    }
    return out;
}

bool looks_like_query(const std::vector<token>& tokens)
{
    return std::any_of(tokens.begin(), tokens.end(),
                       [](const token& t) { return t.t != token::word || t.text.ends_with('*'); });
}

// The byte offsets where each UTF-8 character of `s` starts, plus s.size(); nothing if `s` is not
// valid UTF-8 (then no trigram can be computed the way SQLite's tokenizer would).
std::optional<std::vector<std::size_t>> char_starts(std::string_view s)
{
    std::vector<std::size_t> starts;
    for (std::size_t i = 0; i < s.size();) {
        const auto n = utf8_sequence_length(s, i);
        if (n == 0)
            return std::nullopt;
        starts.push_back(i);
        i += n;
    }
    starts.push_back(s.size());
    return starts;
}

// FTS5 string literal: "..." with each " doubled.
void append_fts_string(std::string& out, std::string_view s)
{
    out.push_back('"');
    for (const char c : s) {
        if (c == '"')
            out.push_back('"');
        out.push_back(c);
    }
    out.push_back('"');
}
} // namespace

// Recursive descent over the tokens into log_search's node table.
class log_search_parser {
public:
    log_search_parser(log_search& out, std::vector<token> tokens) : out_(out), tokens_(std::move(tokens)) {}

    bool run()
    {
        int root = 0;
        if (!parse_or(0, root) || peek().t != token::end)
            return false;
        out_.root_ = root;
        return true;
    }

private:
    using kind = log_search::kind;

    const token& peek() const
    {
        static const token end_token{};
        return pos_ < tokens_.size() ? tokens_[pos_] : end_token;
    }
    bool starts_primary() const
    {
        const auto t = peek().t;
        return t == token::word || t == token::phrase || t == token::open;
    }
    int add(kind k, std::string term, std::vector<int> children)
    {
        out_.nodes_.push_back({k, std::move(term), std::move(children)});
        return static_cast<int>(out_.nodes_.size()) - 1;
    }
    // a op b op c → one node with all operands (or the single operand itself).
    int join(kind k, std::vector<int> parts) { return parts.size() == 1 ? parts[0] : add(k, {}, std::move(parts)); }

    bool parse_or(int depth, int& out)
    {
        std::vector<int> parts(1);
        if (!parse_and(depth, parts[0]))
            return false;
        while (peek().t == token::op_or) {
            ++pos_;
            if (!parse_and(depth, parts.emplace_back()))
                return false;
        }
        out = join(kind::any_of, std::move(parts));
        return true;
    }

    bool parse_and(int depth, int& out)
    {
        std::vector<int> parts(1);
        if (!parse_not(depth, parts[0]))
            return false;
        for (;;) {
            if (peek().t == token::op_and)
                ++pos_;
            else if (!starts_primary())
                break;
            if (!parse_not(depth, parts.emplace_back()))
                return false;
        }
        out = join(kind::all_of, std::move(parts));
        return true;
    }

    bool parse_not(int depth, int& out)
    {
        if (!parse_primary(depth, out))
            return false;
        while (peek().t == token::op_not) {
            ++pos_;
            int excluded = 0;
            if (!parse_primary(depth, excluded))
                return false;
            out = add(kind::but_not, {}, {out, excluded});
        }
        return true;
    }

    bool parse_primary(int depth, int& out)
    {
        const token& t = peek();
        if (t.t == token::open) {
            if (depth >= max_depth)
                return false;
            ++pos_;
            if (!parse_or(depth + 1, out) || peek().t != token::close)
                return false;
            ++pos_;
            return true;
        }
        if (t.t != token::word && t.t != token::phrase)
            return false;
        std::string term = t.text;
        if (t.t == token::word)
            while (!term.empty() && term.back() == '*')
                term.pop_back();
        if (term.empty() || ++terms_ > max_terms)
            return false;
        ++pos_;
        out = add(kind::term, ascii_lower(term), {});
        return true;
    }

    log_search& out_;
    std::vector<token> tokens_;
    std::size_t pos_ = 0;
    std::size_t terms_ = 0;
};

log_search log_search::parse(std::string_view text)
{
    log_search s;
    s.text_ = std::string(text);
    auto tokens = tokenize(text);
    if (looks_like_query(tokens)) {
        log_search_parser parser(s, std::move(tokens));
        if (parser.run()) {
            s.query_ = true;
            return s;
        }
        s.nodes_.clear();
    }
    s.nodes_.push_back({kind::term, ascii_lower(text), {}});
    s.root_ = 0;
    return s;
}

bool log_search::matches(std::string_view message) const { return matches_lowered(ascii_lower(message)); }

bool log_search::matches_lowered(std::string_view lowered_message) const { return eval(root_, lowered_message); }

bool log_search::eval(int n, std::string_view lowered) const
{
    const node& x = nodes_[static_cast<std::size_t>(n)];
    switch (x.k) {
    case kind::term:
        // glibc's memmem is linear in the worst case (two-way), so no message/term pair can make
        // the io thread crawl.
        return x.term.empty()
               || ::memmem(lowered.data(), lowered.size(), x.term.data(), x.term.size()) != nullptr;
    case kind::all_of:
        return std::all_of(x.children.begin(), x.children.end(), [&](int c) { return eval(c, lowered); });
    case kind::any_of:
        return std::any_of(x.children.begin(), x.children.end(), [&](int c) { return eval(c, lowered); });
    case kind::but_not: return eval(x.children[0], lowered) && !eval(x.children[1], lowered);
    }
    return false;
}

std::string log_search::sql_condition(std::string_view lowered_column, int first_param,
                                      std::vector<std::string>& params) const
{
    std::string out;
    int param = first_param;
    sql(root_, lowered_column, param, params, out);
    return out;
}

void log_search::sql(int n, std::string_view column, int& param, std::vector<std::string>& params,
                     std::string& out) const
{
    const node& x = nodes_[static_cast<std::size_t>(n)];
    switch (x.k) {
    case kind::term:
        fmt::format_to(std::back_inserter(out), "instr({}, ?{}) > 0", column, param++);
        params.push_back(x.term);
        return;
    case kind::all_of:
    case kind::any_of: {
        const std::string_view op = x.k == kind::all_of ? " AND " : " OR ";
        out.push_back('(');
        for (std::size_t i = 0; i < x.children.size(); ++i) {
            if (i)
                out.append(op);
            sql(x.children[i], column, param, params, out);
        }
        out.push_back(')');
        return;
    }
    case kind::but_not:
        out.push_back('(');
        sql(x.children[0], column, param, params, out);
        out.append(" AND NOT ");
        sql(x.children[1], column, param, params, out);
        out.push_back(')');
        return;
    }
}

std::optional<std::string> log_search::fts_prefilter() const { return prefilter(root_); }

std::optional<std::string> log_search::prefilter(int n) const
{
    const node& x = nodes_[static_cast<std::size_t>(n)];
    switch (x.k) {
    case kind::term: {
        // The trigram tokenizer indexes every run of three characters; a message holding the term
        // holds each of the term's trigrams. Shorter terms match nothing in the index (SQLite
        // documents this), so they cannot narrow the search.
        const auto starts = char_starts(x.term);
        if (!starts || starts->size() < 4)
            return std::nullopt;
        std::set<std::string_view> trigrams;
        const std::string_view t = x.term;
        for (std::size_t i = 0; i + 3 < starts->size() && trigrams.size() < max_trigrams_per_term; ++i)
            trigrams.insert(t.substr((*starts)[i], (*starts)[i + 3] - (*starts)[i]));
        std::string out;
        for (const auto& tri : trigrams) {
            if (!out.empty())
                out.append(" AND ");
            append_fts_string(out, tri);
        }
        return out;
    }
    case kind::all_of: {
        // Leaving out a condition only widens an AND: use what narrows.
        std::string out;
        for (int c : x.children)
            if (auto p = prefilter(c)) {
                if (!out.empty())
                    out.append(" AND ");
                out += "(" + *p + ")";
            }
        if (out.empty())
            return std::nullopt;
        return out;
    }
    case kind::any_of: {
        // An OR narrows only if every branch does.
        std::string out;
        for (int c : x.children) {
            auto p = prefilter(c);
            if (!p)
                return std::nullopt;
            if (!out.empty())
                out.append(" OR ");
            out += "(" + *p + ")";
        }
        return out;
    }
    case kind::but_not: return prefilter(x.children[0]); // the excluded part is checked exactly
    }
    return std::nullopt;
}

} // namespace corvid::collector
