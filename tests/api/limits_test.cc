// Every limit of config/baton.toml [limits], shown on the real server: body and header
// size, per-token rate, request and idle time-outs. Slow or half-open clients do not hold
// the server (connections: connections_test.cc).

#include <chrono>
#include <thread>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include "baton_server.h"
#include "http_client.h"

using baton::testing::BatonServer;
using baton::testing::HttpClient;

namespace {

std::vector<std::pair<std::string, std::string>> auth(const std::string& token) {
  return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
}

std::string problem_type(const baton::testing::HttpResponse& r) { return r.header("content-type"); }

// `n` case creations in one string, to be sent in one write: subjects "SUBJECT i".
std::string creations(int n, const std::string& token, const std::string& subject) {
  std::string burst;
  for (int i = 0; i < n; ++i) {
    burst += HttpClient::format("POST", "/v1/cases",
                                R"({"channel": "chat", "subject": ")" + subject + " " +
                                    std::to_string(i) + R"(", "customer": {"channel": "chat", )" +
                                    R"("address": "c:)" + std::to_string(i) + R"("}})",
                                auth(token));
  }
  return burst;
}

}  // namespace

TEST_CASE("a body over the limit is 413 and headers over the limit are 431",
          "[api][blackbox][limits]") {
  BatonServer server("[limits]\nbody_bytes = 4096\nheader_bytes = 2048\n");
  std::string token = server.token("supervisor");
  HttpClient c(server.address());
  std::string big = R"({"channel": "chat", "subject": ")" + std::string(5000, 'x') + R"("})";
  auto r = c.request("POST", "/v1/cases", big, auth(token));
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(problem_type(*r) == "application/problem+json");

  HttpClient d(server.address());
  auto headers = auth(token);
  headers.emplace_back("X-Padding", std::string(3000, 'y'));
  r = d.request("GET", "/v1/cases", "", headers);
  REQUIRE(r);
  CHECK(r->status == 431);
  CHECK(problem_type(*r) == "application/problem+json");

  // Just under the limits is fine.
  HttpClient e(server.address());
  std::string ok = R"({"channel": "chat", "subject": "s", "body": ")" + std::string(3000, 'z') +
                   R"(", "customer": {"channel": "chat", "address": "w:1"}})";
  r = e.request("POST", "/v1/cases", ok, auth(token));
  REQUIRE(r);
  CHECK(r->status == 201);
}

TEST_CASE("a token past its rate gets 429 with Retry-After, other tokens go on",
          "[api][blackbox][limits]") {
  BatonServer server("[limits]\nrate_per_second = 2\nrate_burst = 5\n");
  std::string noisy = server.token("supervisor");
  std::string quiet = server.token("supervisor");
  HttpClient c(server.address());
  int ok = 0, limited = 0;
  std::string retry_after;
  for (int i = 0; i < 12; ++i) {
    auto r = c.request("GET", "/v1/cases", "", auth(noisy));
    REQUIRE(r);
    if (r->status == 200) {
      ++ok;
    } else {
      CHECK(r->status == 429);
      retry_after = r->header("retry-after");
      ++limited;
    }
  }
  CHECK(ok >= 5);
  CHECK(ok <= 7);  // the burst, plus what refilled while the loop ran
  CHECK(limited >= 5);
  CHECK(std::stoi(retry_after) >= 1);
  auto r = c.request("GET", "/v1/cases", "", auth(quiet));
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("slow and idle clients are cut off while others are served", "[api][blackbox][limits]") {
  BatonServer server("[limits]\nrequest_timeout = \"1s\"\nidle_timeout = \"1500ms\"\n");
  std::string token = server.token("supervisor");

  SECTION("a client that sends half a request is closed after the request time-out") {
    HttpClient slow(server.address());
    REQUIRE(slow.connect());
    REQUIRE(slow.send_raw("GET /v1/cases HTTP/1.1\r\nHost: x\r\n"));
    auto start = std::chrono::steady_clock::now();
    CHECK(slow.closed_by_peer(5000));
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(took < std::chrono::milliseconds(4000));
    // Meanwhile others were served.
    HttpClient other(server.address());
    auto r = other.request("GET", "/healthz");
    REQUIRE(r);
    CHECK(r->status == 200);
  }

  SECTION("a request trickled byte by byte is closed at the request time-out from its start") {
    // Each byte arrives well within the time-out; the request as a whole does not.
    HttpClient trickle(server.address());
    REQUIRE(trickle.connect());
    std::string request = "GET /v1/cases HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(80, 's');
    auto start = std::chrono::steady_clock::now();
    bool closed = false;
    for (char ch : request) {
      if (!trickle.send_raw(std::string(1, ch)) || trickle.closed_by_peer(100)) {
        closed = true;
        break;
      }
    }
    CHECK(closed);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(3500));
  }

  SECTION("a body sent slowly is closed at the request time-out from the request's start") {
    HttpClient slow(server.address());
    REQUIRE(slow.connect());
    REQUIRE(slow.send_raw("POST /v1/cases HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                          "\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"));
    auto start = std::chrono::steady_clock::now();
    bool closed = false;
    for (int i = 0; i < 199 && !closed; ++i) {
      closed = !slow.send_raw(" ") || slow.closed_by_peer(100);
    }
    CHECK(closed);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(3500));
    HttpClient other(server.address());
    auto r = other.request("GET", "/healthz");
    REQUIRE(r);
    CHECK(r->status == 200);
  }

  SECTION("a client that connects and says nothing is closed after the request time-out") {
    HttpClient silent(server.address());
    REQUIRE(silent.connect());
    auto start = std::chrono::steady_clock::now();
    CHECK(silent.closed_by_peer(5000));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(4000));
  }

  SECTION("an idle keep-alive connection is closed after the idle time-out") {
    HttpClient idle(server.address());
    auto r = idle.request("GET", "/healthz");
    REQUIRE(r);
    CHECK_FALSE(idle.closed_by_peer(500));
    CHECK(idle.closed_by_peer(3000));
  }
}

TEST_CASE("pipelined requests past the pipeline depth wait their turn and are all answered",
          "[api][blackbox][limits]") {
  // Twenty requests in one write: the server takes four, and the rest from what it has
  // already read as answers leave, without waiting for more from the socket.
  BatonServer server("[limits]\npipeline_depth = 4\n");
  std::string token = server.token("gateway");
  HttpClient c(server.address());
  REQUIRE(c.connect());
  const int n = 20;
  std::string burst = creations(n, token, "in turn");
  REQUIRE(c.send_raw(burst));
  for (int i = 0; i < n; ++i) {
    auto r = c.read_response();
    REQUIRE(r);
    REQUIRE(r->status == 201);
    CHECK(r->body.find("\"subject\":\"in turn " + std::to_string(i) + "\"") != std::string::npos);
  }
  auto after = c.request("GET", "/healthz");  // the connection goes on
  REQUIRE(after);
  CHECK(after->status == 200);
}

TEST_CASE("a full journal answers 503 with Retry-After, and only answered cases exist",
          "[api][blackbox][limits]") {
  // One change may wait for its commit: a burst of pipelined creations must meet a full
  // journal while a commit runs (an fsync is far longer than a command).
  BatonServer server("[database]\nmax_queue = 1\n[limits]\npipeline_depth = 256\n");
  std::string token = server.token("gateway");
  HttpClient c(server.address());
  REQUIRE(c.connect());
  const int n = 200;
  std::string burst = creations(n, token, "burst");
  REQUIRE(c.send_raw(burst));
  int created = 0, refused = 0;
  for (int i = 0; i < n; ++i) {
    auto r = c.read_response();
    REQUIRE(r);
    if (r->status == 201) {
      ++created;
    } else {
      INFO(r->body);
      REQUIRE(r->status == 503);
      CHECK(r->header("retry-after") == "1");
      CHECK(problem_type(*r) == "application/problem+json");
      ++refused;
    }
  }
  CHECK(created >= 1);
  CHECK(refused >= 1);
  REQUIRE(server.stop(SIGTERM) == 0);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(server.db().c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT count(*) FROM cases", -1, &s, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  CHECK(sqlite3_column_int(s, 0) == created);
  sqlite3_finalize(s);
  sqlite3_close(db);
}

TEST_CASE("[regress] the header limit counts every header byte of a request, however sent",
          "[api][blackbox][limits][regress]") {
  BatonServer server("[limits]\nheader_bytes = 16384\nbody_bytes = 65536\n");
  std::string token = server.token("supervisor");
  std::string lines;
  for (int i = 0; i < 20; ++i) {  // 20 lines of ~1,000 bytes: 20 KiB in all
    lines += "X-Pad-" + std::to_string(i) + ": " + std::string(990, 'p') + "\r\n";
  }
  std::string head = "GET /v1/cases HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n";
  SECTION("in one write") {
    HttpClient c(server.address());
    REQUIRE(c.send_raw(head + lines + "\r\n"));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 431);
  }
  SECTION("a line at a time") {
    HttpClient c(server.address());
    REQUIRE(c.send_raw(head));
    std::size_t at = 0;
    bool refused = false;
    while (at < lines.size()) {
      auto end = lines.find("\r\n", at) + 2;
      if (!c.send_raw(lines.substr(at, end - at)) || c.closed_by_peer(20)) {
        refused = true;
        break;
      }
      at = end;
    }
    if (!refused) {
      REQUIRE(c.send_raw("\r\n"));
    }
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 431);
  }
  SECTION("a chunk-size line that never ends is bounded: 413") {
    HttpClient c(server.address());
    std::string post = "POST /v1/cases HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                       "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    REQUIRE(c.send_raw(post + "1;" + std::string(8000, 'e')));
    bool refused = false;
    for (int i = 0; i < 200 && !refused; ++i) {  // up to 1.6 MB of chunk extension
      refused = !c.send_raw(std::string(8000, 'e')) || c.closed_by_peer(5);
    }
    auto r = c.read_response();
    REQUIRE(r);
    CHECK((r->status == 413 || r->status == 431));
  }
  SECTION("trailers count too") {
    HttpClient c(server.address());
    std::string post = "POST /v1/cases HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                       "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "2\r\n{}\r\n0\r\n";
    REQUIRE(c.send_raw(post));
    bool refused = false;
    for (int i = 0; i < 200 && !refused; ++i) {
      refused = !c.send_raw("X-T-" + std::to_string(i) + ": " + std::string(8000, 't') + "\r\n") ||
                c.closed_by_peer(5);
    }
    auto r = c.read_response();
    REQUIRE(r);
    CHECK((r->status == 413 || r->status == 431));
  }
  // A request within the limit is answered as ever.
  HttpClient ok(server.address());
  REQUIRE(ok.send_raw(head + "X-Small: 1\r\n\r\n"));
  auto r = ok.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
}
