#pragma once

// A caller of API v1 in black-box tests: a connection and a token.

#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "baton_server.h"
#include "http_client.h"

namespace baton::testing {

namespace json = boost::json;

// One caller: a connection and a token.
struct Caller {
  HttpClient http;
  std::string token;

  Caller(const BatonServer& s, std::string tok) : http(s.address()), token(std::move(tok)) {}
  // With its own time-out for an answer (a what-if on a busy machine may take a while).
  Caller(const BatonServer& s, std::string tok, int timeout_ms)
      : http(s.address(), timeout_ms), token(std::move(tok)) {}

  HttpResponse call(const std::string& method, const std::string& target,
                    const std::string& body = "",
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    if (!token.empty()) {
      headers.emplace_back("Authorization", "Bearer " + token);
    }
    if (!body.empty()) {
      headers.emplace_back("Content-Type", "application/json");
    }
    auto r = http.request(method, target, body, headers);
    REQUIRE(r.has_value());
    return *r;
  }

  json::object ok(int status, const std::string& method, const std::string& target,
                  const std::string& body = "") {
    auto r = call(method, target, body);
    INFO(method << " " << target << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == status);
    return json::parse(r.body).as_object();
  }
};

inline std::string str(const json::value& v) { return std::string(v.as_string()); }

// The value of one unlabelled line of /metrics, or -1 when there is none.
inline long metric(Caller& c, const std::string& name) {
  auto body = c.call("GET", "/metrics").body;
  auto at = body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stol(body.substr(at + name.size() + 2));
}

}  // namespace baton::testing
