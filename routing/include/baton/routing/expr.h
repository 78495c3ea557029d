#pragma once

// The rule language's expressions, e.g.
//   channel == "chat" and account.tier in ["gold", "platinum"] and subject matches
//   "(?i)refund|환불"
// Parsed once into an immutable AST; evaluation allocates nothing on the common paths.
//
// Grammar (keywords are lower case):
//   expr    := or
//   or      := and ("or" and)*
//   and     := unary ("and" unary)*
//   unary   := "not" unary | compare
//   compare := operand [ ("=="|"!="|"<"|"<="|">"|">=") operand
//                      | ["not"] "in" (list | field)
//                      | "matches" string | "contains" string ]
//   operand := string | number | "true" | "false" | "null" | field | "(" expr ")"
//   list    := "[" [literal ("," literal)*] "]"
//   field   := channel | type | subject | body | priority | external_ref | tags
//            | customer.name | customer.id | account.name | account.tier | account.segment
//            | account.id | attributes.KEY | case.FIELD (same names)
// A missing value is null: it equals only null, and every ordering or match with it is
// false. Text compares as UTF-8 bytes; numbers as numbers; "150" and 150 compare as numbers.
//
// Bounds, so that no rule can take the server down or hold the engine: an expression nests
// (parentheses and "not") at most ExprLimits::depth deep, and "and"/"or" chains are flat
// lists, never deep trees. `matches` runs in time linear in its text (RE2), and `matches`
// and `contains` read at most ExprLimits::text_bytes of a text; one that found nothing in
// that prefix of a longer text reports it (EvalReport::cut_short), so the miss is counted
// and logged rather than silently taken for "no match".

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "baton/base/result.h"
#include "baton/base/types.h"

namespace baton::routing {

// What an expression can see of a case. Views must outlive the evaluation.
struct CaseFacts {
  std::string_view channel;
  std::string_view type;
  std::string_view subject;
  std::string_view body;
  std::string_view external_ref;
  int priority = 0;  // 0: the client sent none
  std::string_view customer_id;
  std::string_view customer_name;
  bool has_account = false;
  std::string_view account_id;
  std::string_view account_name;
  std::string_view account_tier;
  std::string_view account_segment;
  const Attributes* attributes = nullptr;
  const std::vector<std::string>* tags = nullptr;
};

struct ExprNode;

struct ExprLimits {
  static constexpr int kDefaultDepth = 64;
  static constexpr std::size_t kDefaultTextBytes = 64 * 1024;
  int depth = kDefaultDepth;                   // nesting of "(" and "not"
  std::size_t text_bytes = kDefaultTextBytes;  // what `matches`/`contains` read of a text
};

// What one evaluation ran into.
struct EvalReport {
  // A `matches` or `contains` found nothing in the first text_bytes of a longer text.
  bool cut_short = false;
};

class Expression {
 public:
  // Errors carry line and column (1-based, columns in characters) within `text`.
  static Result<Expression> parse(std::string_view text, const ExprLimits& limits = {});
  // The expression "true".
  static Expression always();

  bool evaluate(const CaseFacts& facts, EvalReport* report = nullptr) const;
  const std::string& text() const { return text_; }

 private:
  Expression(std::string text, std::shared_ptr<const ExprNode> root, std::size_t text_bytes)
      : text_(std::move(text)), root_(std::move(root)), text_bytes_(text_bytes) {}

  std::string text_;
  std::shared_ptr<const ExprNode> root_;
  std::size_t text_bytes_ = ExprLimits::kDefaultTextBytes;
};

}  // namespace baton::routing
