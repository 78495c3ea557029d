#include "problem.h"

#include <boost/json.hpp>

namespace baton::api {

namespace json = boost::json;

const char* title_of(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 426:
      return "Upgrade Required";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Internal Server Error";
  }
}

Response problem_of(int status, std::string_view detail, const std::vector<FieldError>& errors) {
  return problem(status, title_of(status), detail, errors);
}

int status_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument:
      return 422;
    case ErrorCode::NotFound:
      return 404;
    case ErrorCode::AlreadyExists:
    case ErrorCode::FailedPrecondition:
    case ErrorCode::Conflict:
      return 409;
    case ErrorCode::PermissionDenied:
      return 403;
    case ErrorCode::Unauthenticated:
      return 401;
    case ErrorCode::Unavailable:
      return 503;
    case ErrorCode::Internal:
      return 500;
  }
  return 500;
}

Response from_error(const Error& e) {
  Response r = problem_of(status_of(e.code), e.message, e.field_errors);
  if (e.code == ErrorCode::Unavailable) {
    // The journal is full for a moment: a retry soon is the right move.
    r.headers.emplace_back("Retry-After", "1");
  }
  return r;
}

Response problem(int status, std::string_view title, std::string_view detail,
                 const std::vector<FieldError>& errors) {
  json::object o{{"type", "about:blank"}, {"title", title}, {"status", status}, {"detail", detail}};
  if (!errors.empty()) {
    json::array a;
    for (const auto& e : errors) {
      json::object item{{"field", e.field}, {"message", e.message}};
      if (e.line > 0) {
        item["line"] = e.line;
        item["column"] = e.column;
      }
      a.push_back(std::move(item));
    }
    o["errors"] = std::move(a);
  }
  Response r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = json::serialize(o);
  return r;
}

}  // namespace baton::api
