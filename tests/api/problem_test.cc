// The problem mapping (white-box: api/src/problem.h): each engine error code has one HTTP
// status, and every answer is RFC 9457 problem+json naming its fields.

#include "problem.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace baton;
namespace json = boost::json;

TEST_CASE("problems: each error code maps to the status the caller acts on", "[api][problem]") {
  CHECK(api::status_of(ErrorCode::InvalidArgument) == 422);
  CHECK(api::status_of(ErrorCode::NotFound) == 404);
  CHECK(api::status_of(ErrorCode::AlreadyExists) == 409);
  CHECK(api::status_of(ErrorCode::FailedPrecondition) == 409);
  CHECK(api::status_of(ErrorCode::Conflict) == 409);
  CHECK(api::status_of(ErrorCode::PermissionDenied) == 403);
  CHECK(api::status_of(ErrorCode::Unauthenticated) == 401);
  CHECK(api::status_of(ErrorCode::Unavailable) == 503);
  CHECK(api::status_of(ErrorCode::Internal) == 500);
}

TEST_CASE("problems: the body is problem+json with title, detail and field errors",
          "[api][problem]") {
  FieldError at_line{"rules", "unknown key"};
  at_line.line = 3;
  at_line.column = 7;
  api::Response r = api::from_error(Error(ErrorCode::InvalidArgument, "2 \"fields\" are invalid",
                                          {FieldError{"priority", "must be 1–5"}, at_line}));
  CHECK(r.status == 422);
  CHECK(r.content_type == "application/problem+json");
  auto v = json::parse(r.body).as_object();
  CHECK(v.at("type") == "about:blank");
  CHECK(v.at("title") == "Unprocessable Content");
  CHECK(v.at("status") == 422);
  CHECK(v.at("detail") == "2 \"fields\" are invalid");
  const auto& errors = v.at("errors").as_array();
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].at("field") == "priority");
  CHECK_FALSE(errors[0].as_object().contains("line"));
  CHECK(errors[1].at("line") == 3);
  CHECK(errors[1].at("column") == 7);
  CHECK(r.headers.empty());
}

TEST_CASE("problems: an unavailable engine says when to retry", "[api][problem]") {
  api::Response r = api::from_error(Error(ErrorCode::Unavailable, "the journal is full"));
  CHECK(r.status == 503);
  REQUIRE(r.headers.size() == 1);
  CHECK(r.headers[0] == std::pair<std::string, std::string>{"Retry-After", "1"});
  CHECK(std::string(api::title_of(503)) == "Service Unavailable");
  CHECK(std::string(api::title_of(599)) == "Internal Server Error");
}
