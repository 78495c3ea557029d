// libFuzzer: a request body for every route of API v1, through the real routes (auth,
// the codec, field validation, the engine's commands and the reads on SQLite), in process.
// The input's first byte picks the route, the second the caller's role; the rest is the
// body. Any input: an answer below 500 whose JSON parses, never a crash or a hang.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "baton/api/tokens.h"
#include "baton/base/assert.h"
#include "baton/engine/clock.h"
#include "baton/engine/engine.h"
#include "baton/storage/history.h"
#include "baton/storage/journal.h"

#include "http.h"
#include "zones.h"

namespace {

using namespace baton;

// The engine's strand: one thread that runs what is posted, in order.
class Strand {
 public:
  Strand() : thread_([this] { run(); }) {}
  ~Strand() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void post(std::function<void()> task) {
    {
      std::lock_guard lock(mu_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }
  bool here() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return done_ || !tasks_.empty(); });
      if (tasks_.empty()) {
        return;
      }
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool done_ = false;
  std::thread thread_;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A workspace on a real database, with a token per role and the shipped rules.
struct World {
  std::string dir;
  std::string db;
  std::vector<std::string> tokens;  // supervisor, admin, gateway, agent (agt_ana)
  std::unique_ptr<storage::History> history;
  engine::VirtualClock clock;
  std::string rules_source;
  std::vector<std::pair<std::string, std::string>> routes;  // method, path with ids

  World() {
    dir = (std::filesystem::temp_directory_path() / ("baton-fuzz-" + std::to_string(::getpid())))
              .string();
    std::filesystem::create_directories(dir);
    db = dir + "/fuzz.db";
    BATON_CHECK(storage::migrate_file(db).has_value(), "the schema");
    for (const char* role : {"supervisor", "admin", "gateway", "agent"}) {
      engine::TokenRecord t;
      t.role = role;
      t.workspace = "default";
      if (std::string(role) == "agent") {
        t.agent = engine::AgentId("ana");
      }
      std::string token = api::new_token();
      t.hash = api::sha256_hex(token);
      BATON_CHECK(storage::insert_token(db, t).has_value(), "a token");
      tokens.push_back("Bearer " + token);
    }
    auto h = storage::History::open(db, "default", 2);
    BATON_CHECK(h.has_value(), "the read pool");
    history = std::move(h).value();
    rules_source = read_text(BATON_SOURCE_DIR "/config/routing.toml");
    for (const auto& r : api::Routes::list()) {
      auto space = r.find(' ');
      std::string method = r.substr(0, space);
      std::string path = r.substr(space + 1);
      auto brace = path.find('{');
      if (brace != std::string::npos) {
        std::string id = path.starts_with("/v1/cases")       ? "case_1"
                         : path.starts_with("/v1/agents")    ? "agt_ana"
                         : path.starts_with("/v1/customers") ? "cus_1"
                         : path.starts_with("/v1/accounts")  ? "acc_1"
                         : path.starts_with("/v1/offers")    ? "off_1"
                         : path.starts_with("/v1/handoffs")  ? "hof_1"
                         : path.starts_with("/v1/webhooks")  ? "whk_1"
                                                             : "x";
        path = path.substr(0, brace) + id + path.substr(path.find('}', brace) + 1);
      }
      routes.emplace_back(method, path);
    }
  }
  ~World() { std::filesystem::remove_all(dir); }
};

// The engine and the routes, made again every so many inputs so that what the inputs
// created stays bounded.
struct Api {
  Strand strand;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<api::Routes> routes;

  explicit Api(World& w) {
    engine::EngineConfig config;
    config.zones = testing::system_zones();
    auto rules = routing::RuleSet::parse(w.rules_source, config.zones);
    BATON_CHECK(rules.has_value(), "the shipped rules");
    engine = std::make_unique<engine::Engine>(w.clock, std::move(rules).value(), config);
    engine->set_owner_check([this] { return strand.here(); });
    std::promise<void> restored;
    strand.post([&] {
      BATON_CHECK(engine->restore({}).has_value(), "a new engine");
      restored.set_value();
    });
    restored.get_future().wait();
    api::ServerOptions options;
    options.limits.rate_per_second = 0;  // a fuzzer is one very fast client
    options.auth.failures_per_second = 0;
    options.auth.sign_in_failures_per_minute = 1e9;
    // Argon2id at its least cost: a run is many sign-ins, the cost is not what is tested.
    options.auth.password_ops = 1;
    options.auth.password_memory = 8192;
    api::ServerDeps deps{
        *engine, *w.history, w.clock, [] { return Status{}; }, [] { return std::string(); },
        nullptr, nullptr};
    routes = std::make_unique<api::Routes>(
        options, deps, [this](std::function<void()> t) { strand.post(std::move(t)); });
    // An agent, a customer and a case, so that ids in paths name something.
    call(
        w.tokens[0], "POST", "/v1/agents",
        R"({"id":"agt_ana","name":"Ana","role":"agent","teams":["support"],"capacity":{"chat":2}})");
    call(w.tokens[3], "PUT", "/v1/agents/agt_ana/presence", R"({"presence":"available"})");
    call(w.tokens[2], "POST", "/v1/cases",
         R"({"channel":"chat","subject":"s","customer":{"channel":"chat","address":"web:1"}})");
  }
  ~Api() {
    routes.reset();
    // What was posted before the routes went runs before the engine goes.
    std::promise<void> drained;
    strand.post([&] { drained.set_value(); });
    drained.get_future().wait();
  }

  api::Response call(const std::string& auth, const std::string& method, const std::string& target,
                     std::string body) {
    api::Request r;
    r.method = method;
    r.target = target;
    r.body = std::move(body);
    r.authorization = auth;
    r.content_type = "application/json";
    r.loopback = true;
    auto answer = std::make_shared<std::promise<api::Response>>();
    auto got = answer->get_future();
    routes->handle(std::move(r),
                   [answer](api::Response res) { answer->set_value(std::move(res)); });
    return got.get();
  }
};

World& world() {
  static World w;
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  World& w = world();
  static std::unique_ptr<Api> api;
  static std::size_t runs = 0;
  if (!api || ++runs % 2000 == 0) {
    api.reset();
    api = std::make_unique<Api>(w);
  }
  const auto& [method, path] = w.routes[data[0] % w.routes.size()];
  const std::string& auth = w.tokens[data[1] % w.tokens.size()];
  std::string body(reinterpret_cast<const char*>(data) + 2, size - 2);
  auto res = api->call(auth, method, path, std::move(body));
  BATON_CHECK(res.status >= 100 && res.status < 600, "an HTTP status");
  BATON_CHECK(res.status != 500, "bad input is never a server error");
  if (res.content_type.find("json") != std::string::npos && !res.body.empty()) {
    boost::system::error_code ec;
    boost::json::parse(res.body, ec);
    BATON_CHECK(!ec, "every JSON answer parses");
  }
  return 0;
}
