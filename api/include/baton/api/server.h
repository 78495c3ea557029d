#pragma once

// The HTTP API v1 server (API.md) on Boost.Beast. A pimpl: Beast, Asio and Boost.JSON
// stay in api/src.
//
// Threads: N io threads run the connections (parsing, auth, JSON); every command runs on
// one engine strand (the workspace's single writer); replies leave after the journal has
// committed the command (commit, then publish).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "baton/base/result.h"
#include "baton/engine/engine.h"
#include "baton/engine/queries.h"
#include "baton/engine/replay.h"

namespace baton::api {

// Every limit is explicit (config/baton.toml [server] and [limits]).
struct Limits {
  std::size_t body_bytes = 1 << 20;     // larger request bodies: 413
  std::size_t header_bytes = 16 << 10;  // larger request headers: 431
  // Connections held at once, streams included. At the limit a new connection takes the
  // place of the one idle longest; with none idle it is closed at once.
  std::size_t max_connections = 1024;
  // With none idle, a connection still receiving one request after this long (a client
  // trickling its request) makes room for a new one.
  Duration slow_request{1'000};
  // Connections from one client address (0: no cap); past it a new one is closed at once.
  // Behind a proxy every client has the proxy's address: raise it there.
  std::size_t connections_per_address = 256;
  // Descriptors kept beside the connections (database, journal, webhooks, logs):
  // max_connections + reserved_files must fit the open-files limit, or the server does
  // not start. The soft limit is raised to the hard one first.
  std::size_t reserved_files = 64;
  // Out of descriptors at accept, the server closes the connection idle longest and waits
  // this long before accepting again, instead of retrying in a tight loop.
  Duration accept_backoff{50};
  Duration request_timeout{10'000};  // a request must arrive whole within this
  Duration idle_timeout{60'000};     // a keep-alive connection with no request is closed
  // Requests read ahead on one connection while earlier ones wait for their commit
  // (HTTP/1.1 pipelining); answers always leave in request order.
  std::size_t pipeline_depth = 64;
  // Per token: a bucket of `rate_burst` requests refilled at `rate_per_second`; an empty
  // bucket answers 429 with Retry-After. 0 turns the limit off.
  double rate_per_second = 1000;
  double rate_burst = 2000;
  // What one case may carry in `attributes`: entries, and bytes of one text value (keys
  // are plain names of at most 64 characters). Past either: 422 naming the field.
  std::size_t attributes = 64;
  std::size_t attribute_bytes = 4096;
  // Threads that read timeline pages from the database, off the io threads, and the
  // pages that may wait for them; past that: 503 with Retry-After.
  std::size_t history_readers = 2;
  std::size_t history_queue = 64;
  // What-if replays (POST /v1/routing/simulate): the most arrivals one window may hold
  // (more: 422, a shorter window), and agents its `agents.add` may add in all.
  std::size_t replay_cases = 2'000'000;
  std::size_t replay_added_agents = 500;
  // Idempotency-Key answers kept per token (the oldest go first past it).
  std::size_t idempotency_keys = 10'000;
};

// How tokens are checked ([auth] in baton.toml).
struct AuthOptions {
  // A valid token is read from the database again after this long: a revoked token stops
  // working within it, without a restart.
  Duration token_recheck{30'000};
  // A token the database does not hold is remembered as invalid this long.
  Duration unknown_token_ttl{10'000};
  // Per client address: requests whose token must be read from the database or is
  // invalid take from a bucket of `failure_burst` refilled at `failures_per_second`; an
  // empty bucket answers 429 with Retry-After before anything is read. 0: no limit.
  double failures_per_second = 1;
  double failure_burst = 30;
  // POST /v1/sessions: a session token lives this long.
  Duration session_ttl{12 * 3600 * 1000};
  // Failed sign-ins per agent within a minute; past them, 429 for that agent.
  double sign_in_failures_per_minute = 5;
  // Argon2id cost of each password hash (libsodium's interactive level as shipped).
  unsigned long long password_ops = 2;
  std::size_t password_memory = 64 << 20;
};

// The agents' and supervisors' WebSocket stream (GET /v1/stream).
struct StreamLimits {
  // Messages waiting for one client; a client that falls this far behind is dropped
  // (logged and counted) so that it never holds up the others or the engine.
  std::size_t send_queue = 1024;
  // The same bound in bytes: a few large messages (a case with a long body) count as many.
  std::size_t send_queue_bytes = 4 << 20;
  std::size_t message_bytes = 4096;  // the largest message a client may send
  // A stream silent this long is closed; a ping goes out after half of it.
  Duration idle_timeout{30'000};
  // The kernel's send buffer per stream, so a client that stops reading is noticed
  // after this much rather than after the kernel's own (megabytes) limit.
  std::size_t socket_buffer = 256 << 10;
  Duration queue_stats_interval{2'000};  // queue_stats to supervisors' streams
};

// Webhook delivery: each attempt bounded in time; failures retried with exponential
// back-off, then dead.
struct WebhookOptions {
  Duration timeout{5'000};       // connect + send + answer, per attempt
  int max_attempts = 8;          // then the delivery is dead
  Duration backoff_base{1'000};  // after attempt n: base · 2^(n-1), at most backoff_max
  Duration backoff_max{3'600'000};
  Duration poll_interval{500};   // how often the outbox is read when nothing wakes it
  std::size_t batch = 32;        // deliveries taken per read
  std::size_t concurrency = 16;  // deliveries in flight at once (one per webhook)
  // Loopback, private, link-local, shared and cloud-metadata addresses are refused, judged
  // on the address each delivery connects to, unless allowed here: all of them, or the
  // hosts named (as written in webhook URLs).
  bool allow_private = false;
  std::vector<std::string> allow_hosts;
  // PEM certificates trusted for https:// receivers besides the system's.
  std::string ca_file;
  // Delivered and dead deliveries are deleted this long after their last attempt.
  Duration keep_finished{7LL * 24 * 3600 * 1000};
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: pick a free port (address() says which)
  int io_threads = 2;
  std::string workspace = "default";
  Limits limits;
  AuthOptions auth;
  StreamLimits stream;
  WebhookOptions webhooks;
  // /metrics answers without a token only to loopback clients.
  bool metrics_open_on_loopback = true;
  // Idempotency keys are kept at least this long.
  Duration idempotency_ttl{24 * 3600 * 1000};
};

struct ServerDeps {
  engine::Engine& engine;  // touched only on the engine strand once the server runs
  engine::ReadModel& reads;
  engine::Clock& clock;
  std::function<Status()> ready;            // /readyz: database open, recovery done
  std::function<std::string()> metrics;     // more Prometheus lines (the journal's)
  engine::WebhookOutbox* outbox = nullptr;  // webhooks are delivered when set
  // What a replay of [from, to) reads (POST /v1/routing/simulate), InvalidArgument on
  // "to" past `max_cases` arrivals; called on the replay worker, never on the engine
  // strand. Unset: the route answers 501.
  std::function<Result<engine::ReplayHistory>(TimePoint from, TimePoint to, std::size_t max_cases)>
      replay_history;
};

class Server {
 public:
  // Binds, loads recent idempotency keys and starts the threads.
  static Result<std::unique_ptr<Server>> start(ServerOptions options, ServerDeps deps);
  ~Server();  // stops if still running

  // "HOST:PORT" actually bound.
  std::string address() const;
  // Stops accepting, lets requests in flight finish (bounded by the request timeout),
  // then stops the threads. Idempotent.
  void stop();
  // "GET /v1/cases/{id}" for every route served (the OpenAPI test reads them).
  static std::vector<std::string> routes();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace baton::api
