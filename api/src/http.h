#pragma once

// A request and its answer as the routes see them: plain values, so the route code is
// free of Beast (server.cc alone speaks HTTP on the wire).

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "baton/api/server.h"

namespace baton::api {

struct StreamGrant;

struct Request {
  std::string method;  // "GET", "POST", …
  std::string target;  // path and query, as sent
  std::string body;
  std::string authorization;
  std::string idempotency_key;
  std::string if_match;
  std::string if_none_match;
  std::string content_type;
  bool loopback = false;   // the client connected from 127.0.0.0/8 or ::1
  std::string peer;        // the client's address (no port): per-address limits
  bool websocket = false;  // a WebSocket upgrade request
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  // Set with status 101 when an upgrade to the stream is granted.
  std::shared_ptr<const StreamGrant> stream;
};

// Called exactly once, from any thread.
using Reply = std::function<void(Response)>;

// Runs a task on the engine strand.
using EnginePost = std::function<void(std::function<void()>)>;

// A problem+json answer (RFC 9457).
Response problem(int status, std::string_view title, std::string_view detail,
                 const std::vector<FieldError>& errors = {});

// Every route of API v1: auth, validation, the command on the engine strand, the answer
// after the commit. Thread-safe.
class Routes {
 public:
  Routes(const ServerOptions& options, ServerDeps deps, EnginePost post);
  ~Routes();
  // Loads the stored answers of recent Idempotency-Keys.
  Status load_idempotency();
  void handle(Request req, Reply reply);
  static std::vector<std::string> list();
  // Counters for /metrics, by status class.
  std::string metrics_text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace baton::api
