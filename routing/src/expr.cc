#include "baton/routing/expr.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>

#include "regex.h"

namespace baton::routing {

namespace {

enum class FieldKind {
  Channel,
  Type,
  Subject,
  Body,
  ExternalRef,
  Priority,
  Tags,
  CustomerId,
  CustomerName,
  AccountId,
  AccountName,
  AccountTier,
  AccountSegment,
  Attribute,
};

enum class CmpOp { Eq, Ne, Lt, Le, Gt, Ge };

}  // namespace

struct ExprNode {
  enum class Kind { Literal, Field, And, Or, Not, Compare, In, Matches, Contains };
  Kind kind = Kind::Literal;
  Value literal;
  FieldKind field = FieldKind::Channel;
  std::string attribute;  // for FieldKind::Attribute
  CmpOp op = CmpOp::Eq;
  bool negate = false;         // "not in"
  std::vector<Value> list;     // for In with a literal list
  std::optional<Regex> regex;  // for Matches
  std::string needle;          // for Contains
  std::shared_ptr<const ExprNode> lhs, rhs;
  std::vector<std::shared_ptr<const ExprNode>> terms;  // for And and Or: a flat list
};

namespace {

using NodePtr = std::shared_ptr<const ExprNode>;

enum class Tok {
  End,
  Ident,
  String,
  Number,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
};

struct Token {
  Tok kind = Tok::End;
  std::string text;  // identifier text or decoded string literal
  double number = 0;
  std::size_t pos = 0;  // byte offset in the source
};

class Parser {
 public:
  Parser(std::string_view src, int max_depth) : src_(src), max_depth_(max_depth) {}

  Result<NodePtr> parse() {
    if (auto st = advance(); !st) {
      return st.error();
    }
    auto node = parse_or();
    if (!node) {
      return node;
    }
    if (tok_.kind != Tok::End) {
      return fail(tok_.pos, "unexpected '" + token_text() + "' after the expression");
    }
    return node;
  }

 private:
  Error fail(std::size_t pos, std::string message) const {
    FieldError fe;
    fe.field = "when";
    fe.message = message;
    fe.line = 1;
    fe.column = utf8_column(src_, pos) + 1;
    for (std::size_t i = 0; i < pos && i < src_.size(); ++i) {
      if (src_[i] == '\n') {
        ++fe.line;
        fe.column = utf8_column(src_.substr(i + 1), pos - i - 1) + 1;
      }
    }
    return Error(ErrorCode::InvalidArgument, std::move(message), {fe});
  }

  std::string token_text() const {
    switch (tok_.kind) {
      case Tok::End:
        return "end of expression";
      case Tok::String:
        return "\"" + tok_.text + "\"";
      default:
        return std::string(src_.substr(tok_.pos, std::max<std::size_t>(1, end_ - tok_.pos)));
    }
  }

  Status advance() {
    while (i_ < src_.size() && std::isspace(static_cast<unsigned char>(src_[i_]))) {
      ++i_;
    }
    tok_ = Token{};
    tok_.pos = i_;
    if (i_ >= src_.size()) {
      tok_.kind = Tok::End;
      end_ = i_;
      return {};
    }
    char c = src_[i_];
    auto two = [&](char next) { return i_ + 1 < src_.size() && src_[i_ + 1] == next; };
    if (c == '(' || c == ')' || c == '[' || c == ']' || c == ',') {
      tok_.kind = c == '('   ? Tok::LParen
                  : c == ')' ? Tok::RParen
                  : c == '[' ? Tok::LBracket
                  : c == ']' ? Tok::RBracket
                             : Tok::Comma;
      ++i_;
    } else if (c == '=' && two('=')) {
      tok_.kind = Tok::Eq;
      i_ += 2;
    } else if (c == '!' && two('=')) {
      tok_.kind = Tok::Ne;
      i_ += 2;
    } else if (c == '<') {
      tok_.kind = two('=') ? Tok::Le : Tok::Lt;
      i_ += two('=') ? 2 : 1;
    } else if (c == '>') {
      tok_.kind = two('=') ? Tok::Ge : Tok::Gt;
      i_ += two('=') ? 2 : 1;
    } else if (c == '"' || c == '\'') {
      char quote = c;
      ++i_;
      std::string text;
      bool closed = false;
      while (i_ < src_.size()) {
        char d = src_[i_];
        if (d == quote) {
          closed = true;
          ++i_;
          break;
        }
        if (d == '\\' && i_ + 1 < src_.size()) {
          char e = src_[i_ + 1];
          if (e == quote || e == '\\') {
            text.push_back(e);
          } else if (e == 'n') {
            text.push_back('\n');
          } else if (e == 't') {
            text.push_back('\t');
          } else {
            // Unknown escapes are kept as written, so regexes like "\d" need no doubling.
            text.push_back('\\');
            text.push_back(e);
          }
          i_ += 2;
          continue;
        }
        text.push_back(d);
        ++i_;
      }
      if (!closed) {
        return fail(tok_.pos, "unterminated string");
      }
      tok_.kind = Tok::String;
      tok_.text = std::move(text);
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '-' && i_ + 1 < src_.size() &&
                std::isdigit(static_cast<unsigned char>(src_[i_ + 1])))) {
      std::size_t start = i_;
      ++i_;
      while (i_ < src_.size() &&
             (std::isdigit(static_cast<unsigned char>(src_[i_])) || src_[i_] == '.')) {
        ++i_;
      }
      std::string num(src_.substr(start, i_ - start));
      double v = 0;
      auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
      if (ec != std::errc() || p != num.data() + num.size()) {
        return fail(start, "bad number '" + num + "'");
      }
      tok_.kind = Tok::Number;
      tok_.number = v;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t start = i_;
      while (i_ < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[i_])) ||
                                  src_[i_] == '_' || src_[i_] == '.' || src_[i_] == '-')) {
        ++i_;
      }
      tok_.kind = Tok::Ident;
      tok_.text = std::string(src_.substr(start, i_ - start));
    } else {
      std::size_t len = 1;
      auto uc = static_cast<unsigned char>(c);
      if (uc >= 0xC0) {
        len = uc >= 0xF0 ? 4 : uc >= 0xE0 ? 3 : 2;
      }
      return fail(i_, "unexpected character '" + std::string(src_.substr(i_, len)) + "'");
    }
    end_ = i_;
    return {};
  }

  bool is_keyword(std::string_view kw) const { return tok_.kind == Tok::Ident && tok_.text == kw; }

  Result<NodePtr> parse_or() { return parse_chain("or", ExprNode::Kind::Or); }

  // "a and b and c" is one node over a flat list, so a long chain is never a deep tree
  // (evaluating or freeing a deep tree recurses once per level).
  Result<NodePtr> parse_chain(std::string_view keyword, ExprNode::Kind kind) {
    auto next = [&] {
      return kind == ExprNode::Kind::Or ? parse_chain("and", ExprNode::Kind::And) : parse_unary();
    };
    auto first = next();
    if (!first || !is_keyword(keyword)) {
      return first;
    }
    auto n = std::make_shared<ExprNode>();
    n->kind = kind;
    n->terms.push_back(first.value());
    while (is_keyword(keyword)) {
      BATON_RETURN_IF_ERROR(advance());
      auto term = next();
      if (!term) {
        return term;
      }
      n->terms.push_back(term.value());
    }
    return NodePtr(n);
  }

  // Parentheses and "not" recurse; each level counts against the depth limit, so no
  // source can overflow the stack of the thread that parses it.
  Status enter(std::size_t pos) {
    if (++depth_ > max_depth_) {
      return fail(pos, "nested deeper than " + std::to_string(max_depth_) + " levels");
    }
    return {};
  }

  Result<NodePtr> parse_unary() {
    if (is_keyword("not")) {
      BATON_RETURN_IF_ERROR(enter(tok_.pos));
      BATON_RETURN_IF_ERROR(advance());
      auto inner = parse_unary();
      --depth_;
      if (!inner) {
        return inner;
      }
      auto n = std::make_shared<ExprNode>();
      n->kind = ExprNode::Kind::Not;
      n->lhs = inner.value();
      return NodePtr(n);
    }
    return parse_compare();
  }

  Result<NodePtr> parse_compare() {
    auto lhs_r = parse_operand();
    if (!lhs_r) {
      return lhs_r;
    }
    NodePtr lhs = lhs_r.value();
    auto n = std::make_shared<ExprNode>();
    n->lhs = lhs;
    switch (tok_.kind) {
      case Tok::Eq:
      case Tok::Ne:
      case Tok::Lt:
      case Tok::Le:
      case Tok::Gt:
      case Tok::Ge: {
        n->kind = ExprNode::Kind::Compare;
        n->op = tok_.kind == Tok::Eq   ? CmpOp::Eq
                : tok_.kind == Tok::Ne ? CmpOp::Ne
                : tok_.kind == Tok::Lt ? CmpOp::Lt
                : tok_.kind == Tok::Le ? CmpOp::Le
                : tok_.kind == Tok::Gt ? CmpOp::Gt
                                       : CmpOp::Ge;
        BATON_RETURN_IF_ERROR(advance());
        auto rhs = parse_operand();
        if (!rhs) {
          return rhs;
        }
        n->rhs = rhs.value();
        return NodePtr(n);
      }
      default:
        break;
    }
    if (is_keyword("not") || is_keyword("in")) {
      std::size_t pos = tok_.pos;
      if (is_keyword("not")) {
        n->negate = true;
        BATON_RETURN_IF_ERROR(advance());
        if (!is_keyword("in")) {
          return fail(pos, "expected 'in' after 'not'");
        }
      }
      BATON_RETURN_IF_ERROR(advance());
      n->kind = ExprNode::Kind::In;
      if (tok_.kind == Tok::LBracket) {
        BATON_RETURN_IF_ERROR(advance());
        while (tok_.kind != Tok::RBracket) {
          auto lit = parse_literal();
          if (!lit) {
            return lit.error();
          }
          n->list.push_back(lit.value());
          if (tok_.kind == Tok::Comma) {
            BATON_RETURN_IF_ERROR(advance());
          } else if (tok_.kind != Tok::RBracket) {
            return fail(tok_.pos, "expected ',' or ']' in list, found " + token_text());
          }
        }
        BATON_RETURN_IF_ERROR(advance());
      } else if (tok_.kind == Tok::Ident && tok_.text == "tags") {
        auto f = std::make_shared<ExprNode>();
        f->kind = ExprNode::Kind::Field;
        f->field = FieldKind::Tags;
        n->rhs = f;
        BATON_RETURN_IF_ERROR(advance());
      } else {
        return fail(tok_.pos, "expected a list [..] or 'tags' after 'in'");
      }
      return NodePtr(n);
    }
    if (is_keyword("matches")) {
      BATON_RETURN_IF_ERROR(advance());
      if (tok_.kind != Tok::String) {
        return fail(tok_.pos, "expected a quoted regular expression after 'matches'");
      }
      auto re = Regex::compile(tok_.text);
      if (!re) {
        return fail(tok_.pos, re.error().message);
      }
      n->kind = ExprNode::Kind::Matches;
      n->regex = re.value();
      BATON_RETURN_IF_ERROR(advance());
      return NodePtr(n);
    }
    if (is_keyword("contains")) {
      BATON_RETURN_IF_ERROR(advance());
      if (tok_.kind != Tok::String) {
        return fail(tok_.pos, "expected a quoted string after 'contains'");
      }
      n->kind = ExprNode::Kind::Contains;
      n->needle = tok_.text;
      BATON_RETURN_IF_ERROR(advance());
      return NodePtr(n);
    }
    return lhs;
  }

  Result<Value> parse_literal() {
    Value v;
    if (tok_.kind == Tok::String) {
      v = tok_.text;
    } else if (tok_.kind == Tok::Number) {
      v = tok_.number;
    } else if (is_keyword("true")) {
      v = true;
    } else if (is_keyword("false")) {
      v = false;
    } else if (is_keyword("null")) {
      v = std::monostate{};
    } else {
      return fail(tok_.pos, "expected a literal, found " + token_text());
    }
    BATON_RETURN_IF_ERROR(advance());
    return v;
  }

  Result<NodePtr> parse_operand() {
    if (tok_.kind == Tok::LParen) {
      std::size_t pos = tok_.pos;
      BATON_RETURN_IF_ERROR(enter(pos));
      BATON_RETURN_IF_ERROR(advance());
      auto inner = parse_or();
      --depth_;
      if (!inner) {
        return inner;
      }
      if (tok_.kind != Tok::RParen) {
        return fail(tok_.kind == Tok::End ? pos : tok_.pos,
                    tok_.kind == Tok::End ? "unclosed '('" : "expected ')', found " + token_text());
      }
      BATON_RETURN_IF_ERROR(advance());
      return inner;
    }
    if (tok_.kind == Tok::String || tok_.kind == Tok::Number || is_keyword("true") ||
        is_keyword("false") || is_keyword("null")) {
      auto lit = parse_literal();
      if (!lit) {
        return lit.error();
      }
      auto n = std::make_shared<ExprNode>();
      n->kind = ExprNode::Kind::Literal;
      n->literal = lit.value();
      return NodePtr(n);
    }
    if (tok_.kind == Tok::Ident) {
      static const std::vector<std::string_view> kKeywords = {"and", "or",      "not",
                                                              "in",  "matches", "contains"};
      if (std::find(kKeywords.begin(), kKeywords.end(), tok_.text) != kKeywords.end()) {
        return fail(tok_.pos, "expected a value, found '" + tok_.text + "'");
      }
      auto n = std::make_shared<ExprNode>();
      n->kind = ExprNode::Kind::Field;
      if (!resolve_field(tok_.text, *n)) {
        return fail(tok_.pos, "unknown field '" + tok_.text + "'");
      }
      BATON_RETURN_IF_ERROR(advance());
      return NodePtr(n);
    }
    return fail(tok_.pos, "expected a value, found " + token_text());
  }

  static bool resolve_field(std::string_view name, ExprNode& n) {
    if (name.starts_with("case.")) {
      name.remove_prefix(5);
    }
    if (name.starts_with("attributes.") && name.size() > 11) {
      n.field = FieldKind::Attribute;
      n.attribute = std::string(name.substr(11));
      return true;
    }
    static const std::vector<std::pair<std::string_view, FieldKind>> kFields = {
        {"channel", FieldKind::Channel},
        {"type", FieldKind::Type},
        {"subject", FieldKind::Subject},
        {"body", FieldKind::Body},
        {"external_ref", FieldKind::ExternalRef},
        {"priority", FieldKind::Priority},
        {"tags", FieldKind::Tags},
        {"customer.id", FieldKind::CustomerId},
        {"customer.name", FieldKind::CustomerName},
        {"account.id", FieldKind::AccountId},
        {"account.name", FieldKind::AccountName},
        {"account.tier", FieldKind::AccountTier},
        {"account.segment", FieldKind::AccountSegment},
    };
    for (const auto& [n2, k] : kFields) {
      if (n2 == name) {
        n.field = k;
        return true;
      }
    }
    return false;
  }

  std::string_view src_;
  int max_depth_;
  int depth_ = 0;
  std::size_t i_ = 0;
  std::size_t end_ = 0;
  Token tok_;
};

// A value during evaluation; text is a view into the facts or the AST.
struct EvalValue {
  enum class Kind { Null, Bool, Number, Text } kind = Kind::Null;
  bool b = false;
  double num = 0;
  std::string_view text;
};

EvalValue from_value(const Value& v) {
  EvalValue e;
  if (auto* b = std::get_if<bool>(&v)) {
    e.kind = EvalValue::Kind::Bool;
    e.b = *b;
  } else if (auto* d = std::get_if<double>(&v)) {
    e.kind = EvalValue::Kind::Number;
    e.num = *d;
  } else if (auto* s = std::get_if<std::string>(&v)) {
    e.kind = EvalValue::Kind::Text;
    e.text = *s;
  }
  return e;
}

EvalValue text_or_null(std::string_view s, bool present = true) {
  EvalValue e;
  if (present) {
    e.kind = EvalValue::Kind::Text;
    e.text = s;
  }
  return e;
}

EvalValue field_value(const ExprNode& n, const CaseFacts& f) {
  switch (n.field) {
    case FieldKind::Channel:
      return text_or_null(f.channel);
    case FieldKind::Type:
      return text_or_null(f.type);
    case FieldKind::Subject:
      return text_or_null(f.subject);
    case FieldKind::Body:
      return text_or_null(f.body);
    case FieldKind::ExternalRef:
      return text_or_null(f.external_ref, !f.external_ref.empty());
    case FieldKind::Priority: {
      EvalValue e;
      if (f.priority != 0) {
        e.kind = EvalValue::Kind::Number;
        e.num = f.priority;
      }
      return e;
    }
    case FieldKind::Tags:
      return {};  // only meaningful on the right of "in"
    case FieldKind::CustomerId:
      return text_or_null(f.customer_id, !f.customer_id.empty());
    case FieldKind::CustomerName:
      return text_or_null(f.customer_name, !f.customer_name.empty());
    case FieldKind::AccountId:
      return text_or_null(f.account_id, f.has_account);
    case FieldKind::AccountName:
      return text_or_null(f.account_name, f.has_account);
    case FieldKind::AccountTier:
      return text_or_null(f.account_tier, f.has_account && !f.account_tier.empty());
    case FieldKind::AccountSegment:
      return text_or_null(f.account_segment, f.has_account && !f.account_segment.empty());
    case FieldKind::Attribute: {
      if (f.attributes == nullptr) {
        return {};
      }
      auto it = f.attributes->find(n.attribute);
      if (it == f.attributes->end()) {
        return {};
      }
      return from_value(it->second);
    }
  }
  return {};
}

std::optional<double> as_number(const EvalValue& v) {
  if (v.kind == EvalValue::Kind::Number) {
    return v.num;
  }
  if (v.kind == EvalValue::Kind::Text && !v.text.empty()) {
    double d = 0;
    auto [p, ec] = std::from_chars(v.text.data(), v.text.data() + v.text.size(), d);
    if (ec == std::errc() && p == v.text.data() + v.text.size()) {
      return d;
    }
  }
  return std::nullopt;
}

bool equal(const EvalValue& a, const EvalValue& b) {
  if (a.kind == EvalValue::Kind::Null || b.kind == EvalValue::Kind::Null) {
    return a.kind == b.kind;
  }
  if (a.kind == b.kind) {
    switch (a.kind) {
      case EvalValue::Kind::Bool:
        return a.b == b.b;
      case EvalValue::Kind::Number:
        return a.num == b.num;
      case EvalValue::Kind::Text:
        return a.text == b.text;
      case EvalValue::Kind::Null:
        return true;
    }
  }
  auto x = as_number(a);
  auto y = as_number(b);
  return x && y && *x == *y;
}

// Returns <0, 0, >0, or nullopt when the two are not ordered.
std::optional<int> order(const EvalValue& a, const EvalValue& b) {
  if (a.kind == EvalValue::Kind::Text && b.kind == EvalValue::Kind::Text) {
    int c = a.text.compare(b.text);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  auto x = as_number(a);
  auto y = as_number(b);
  if (!x || !y) {
    return std::nullopt;
  }
  return *x < *y ? -1 : *x > *y ? 1 : 0;
}

// One evaluation: the facts, how far a text is read, and what it ran into.
struct Eval {
  const CaseFacts& f;
  std::size_t text_bytes;
  EvalReport* report;

  // The first text_bytes of `text`, cut at a character boundary; notes when it is cut.
  std::string_view bounded(std::string_view text, bool& cut) const {
    if (text.size() <= text_bytes) {
      return text;
    }
    std::size_t end = text_bytes;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
      --end;
    }
    cut = true;
    return text.substr(0, end);
  }
  // A search over a bounded text: a miss in a cut text is reported.
  template <typename Search>
  bool search(std::string_view text, Search&& found_in) const {
    bool cut = false;
    bool found = found_in(bounded(text, cut));
    if (!found && cut && report != nullptr) {
      report->cut_short = true;
    }
    return found;
  }
};

EvalValue eval_value(const ExprNode& n, const Eval& e);
bool eval_bool(const ExprNode& n, const Eval& e);

EvalValue eval_value(const ExprNode& n, const Eval& ev) {
  const CaseFacts& f = ev.f;
  switch (n.kind) {
    case ExprNode::Kind::Literal:
      return from_value(n.literal);
    case ExprNode::Kind::Field:
      return field_value(n, f);
    default: {
      EvalValue e;
      e.kind = EvalValue::Kind::Bool;
      e.b = eval_bool(n, ev);
      return e;
    }
  }
}

bool eval_bool(const ExprNode& n, const Eval& ev) {
  const CaseFacts& f = ev.f;
  switch (n.kind) {
    case ExprNode::Kind::And:
      return std::all_of(n.terms.begin(), n.terms.end(),
                         [&](const auto& t) { return eval_bool(*t, ev); });
    case ExprNode::Kind::Or:
      return std::any_of(n.terms.begin(), n.terms.end(),
                         [&](const auto& t) { return eval_bool(*t, ev); });
    case ExprNode::Kind::Not:
      return !eval_bool(*n.lhs, ev);
    case ExprNode::Kind::Compare: {
      auto a = eval_value(*n.lhs, ev);
      auto b = eval_value(*n.rhs, ev);
      if (n.op == CmpOp::Eq) {
        return equal(a, b);
      }
      if (n.op == CmpOp::Ne) {
        return !equal(a, b);
      }
      auto o = order(a, b);
      if (!o) {
        return false;
      }
      switch (n.op) {
        case CmpOp::Lt:
          return *o < 0;
        case CmpOp::Le:
          return *o <= 0;
        case CmpOp::Gt:
          return *o > 0;
        case CmpOp::Ge:
          return *o >= 0;
        default:
          return false;
      }
    }
    case ExprNode::Kind::In: {
      auto a = eval_value(*n.lhs, ev);
      bool found = false;
      if (n.rhs) {  // "in tags"
        if (a.kind == EvalValue::Kind::Text && f.tags != nullptr) {
          found = std::find(f.tags->begin(), f.tags->end(), a.text) != f.tags->end();
        }
      } else {
        for (const auto& v : n.list) {
          if (equal(a, from_value(v))) {
            found = true;
            break;
          }
        }
      }
      return n.negate ? !found : found;
    }
    case ExprNode::Kind::Matches: {
      auto a = eval_value(*n.lhs, ev);
      return a.kind == EvalValue::Kind::Text &&
             ev.search(a.text, [&](std::string_view t) { return n.regex->search(t); });
    }
    case ExprNode::Kind::Contains: {
      auto a = eval_value(*n.lhs, ev);
      if (n.lhs->kind == ExprNode::Kind::Field && n.lhs->field == FieldKind::Tags) {
        return f.tags != nullptr &&
               std::find(f.tags->begin(), f.tags->end(), n.needle) != f.tags->end();
      }
      return a.kind == EvalValue::Kind::Text && ev.search(a.text, [&](std::string_view t) {
        return t.find(n.needle) != std::string_view::npos;
      });
    }
    case ExprNode::Kind::Literal:
    case ExprNode::Kind::Field: {
      auto v = eval_value(n, ev);
      return v.kind == EvalValue::Kind::Bool && v.b;
    }
  }
  return false;
}

}  // namespace

Result<Expression> Expression::parse(std::string_view text, const ExprLimits& limits) {
  Parser p(text, limits.depth);
  auto root = p.parse();
  if (!root) {
    return root.error();
  }
  return Expression(std::string(text), root.value(), limits.text_bytes);
}

Expression Expression::always() {
  auto n = std::make_shared<ExprNode>();
  n->kind = ExprNode::Kind::Literal;
  n->literal = true;
  return Expression("true", n, ExprLimits::kDefaultTextBytes);
}

bool Expression::evaluate(const CaseFacts& facts, EvalReport* report) const {
  return eval_bool(*root_, Eval{facts, text_bytes_, report});
}

}  // namespace baton::routing
