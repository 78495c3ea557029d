#pragma once

// Failure as a plain value. Expected failures (a declined offer, a bad rule, an unknown id)
// are part of a function's signature; exceptions never cross a module boundary.
// The shape follows std::expected (has_value/value/error) so it can be swapped later.

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace baton {

// Pick a code by what the caller should do next.
enum class ErrorCode {
  InvalidArgument,     // fix the input (HTTP 400/422)
  NotFound,            // the object does not exist or is not visible (404)
  AlreadyExists,       // pick another id (409)
  FailedPrecondition,  // the object's state forbids this now (409)
  Conflict,            // a concurrent change won; re-read and retry (409/412)
  PermissionDenied,    // valid caller, wrong role (403)
  Unauthenticated,     // no or bad credentials (401)
  Unavailable,         // retry later (503)
  Internal,            // a bug or a broken disk (500)
};

const char* to_string(ErrorCode code);

struct FieldError {
  std::string field;    // e.g. "priority", "rules[2].when"
  std::string message;  // e.g. "must be 1-5"
  int line = 0;         // 1-based source position, 0 when not from a source text
  int column = 0;

  friend bool operator==(const FieldError&, const FieldError&) = default;
};

struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string message;
  std::vector<FieldError> field_errors;

  Error() = default;
  Error(ErrorCode c, std::string m, std::vector<FieldError> f = {})
      : code(c), message(std::move(m)), field_errors(std::move(f)) {}
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return checked(); }
  const T& value() const& { return const_cast<Result*>(this)->checked(); }
  T&& value() && { return std::move(checked()); }
  T* operator->() { return &checked(); }
  const T* operator->() const { return &const_cast<Result*>(this)->checked(); }
  T& operator*() { return checked(); }

  const Error& error() const {
    if (has_value()) {
      std::abort();  // reading the error of a success is a bug
    }
    return std::get<1>(v_);
  }

 private:
  T& checked() {
    if (!has_value()) {
      std::abort();  // reading the value of a failure is a bug
    }
    return std::get<0>(v_);
  }
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    if (ok_) {
      std::abort();
    }
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok_status() { return {}; }

}  // namespace baton

// Keeps happy paths flat: evaluates a Result/Status expression and returns its error.
#define BATON_RETURN_IF_ERROR(expr)   \
  do {                                \
    auto baton_status_ = (expr);      \
    if (!baton_status_.has_value()) { \
      return baton_status_.error();   \
    }                                 \
  } while (false)

// Assigns a Result's value to `lhs` (an existing variable), or returns its error.
#define BATON_ASSIGN(lhs, expr)        \
  do {                                 \
    auto baton_r_ = (expr);            \
    if (!baton_r_) {                   \
      return baton_r_.error();         \
    }                                  \
    lhs = std::move(baton_r_).value(); \
  } while (false)
