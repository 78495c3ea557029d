// docs/openapi.yaml describes the whole API: every route the server registers is there,
// with its method.

#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "baton/api/server.h"

TEST_CASE("every route the server serves is in docs/openapi.yaml", "[api][openapi]") {
  std::ifstream in(BATON_SOURCE_DIR "/docs/openapi.yaml");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string spec = ss.str();
  auto routes = baton::api::Server::routes();
  REQUIRE(routes.size() > 30);
  for (const auto& route : routes) {
    INFO(route);
    auto space = route.find(' ');
    std::string method = route.substr(0, space);
    std::string path = route.substr(space + 1);
    for (auto& ch : method) {
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    // "  /v1/cases/{id}:" starts the path's block; the method is one of its keys.
    auto at = spec.find("\n  " + path + ":\n");
    REQUIRE(at != std::string::npos);
    auto end = spec.find("\n  /", at + 1);
    std::string block = spec.substr(at, end == std::string::npos ? std::string::npos : end - at);
    CHECK(block.find("\n    " + method + ":") != std::string::npos);
  }
}
