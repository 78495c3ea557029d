// Crash test over HTTP: the real `baton serve` takes case creations (and agents accept
// and resolve) on a real SQLite file and is killed with SIGKILL at random moments; after
// each kill, every case that got a 201 must be on disk, whole, and the server must
// recover and serve again.

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include "baton_server.h"
#include "http_client.h"
#include "sqlite_peek.h"

namespace json = boost::json;
using baton::testing::BatonServer;
using baton::testing::HttpClient;

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : fallback;
}

// "case_000000001a" -> 42 (the row id).
std::uint64_t row_id(std::string_view id) {
  std::uint64_t n = 0;
  for (char c : id.substr(id.find('_') + 1)) {
    n = n * 32 + static_cast<std::uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  }
  return n;
}

}  // namespace

TEST_CASE("kill -9 during a load of case creations loses no case that got a 201", "[api][crash]") {
  const int trials = env_int("BATON_CRASH_TRIALS", 20);
  std::mt19937 rng(static_cast<unsigned>(env_int("BATON_CRASH_SEED", 20261123)));
  BatonServer server;
  std::string gw = server.token("gateway");
  std::string sup = server.token("supervisor");
  {
    HttpClient c(server.address());
    for (int i = 0; i < 4; ++i) {
      std::string id = "agt_crash" + std::to_string(i);
      auto r = c.request(
          "POST", "/v1/agents",
          R"({"id": ")" + id + R"(", "name": "A", "teams": ["support"], "capacity": {"chat": 3}})",
          {{"Authorization", "Bearer " + sup}, {"Content-Type", "application/json"}});
      REQUIRE(r);
      REQUIRE(r->status == 201);
    }
  }
  std::set<std::uint64_t> acked;
  std::mutex mu;

  for (int trial = 0; trial < trials; ++trial) {
    if (trial > 0) {
      server.start();
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> load;
    // Agents come online and work what they are offered.
    load.emplace_back([&] {
      HttpClient c(server.address(), 2000);
      std::vector<std::pair<std::string, std::string>> h = {{"Authorization", "Bearer " + sup},
                                                            {"Content-Type", "application/json"}};
      for (int i = 0; i < 4; ++i) {
        c.request("PUT", "/v1/agents/agt_crash" + std::to_string(i) + "/presence",
                  R"({"presence": "available"})", h);
      }
      while (!stop) {
        auto r = c.request("GET", "/v1/offers?status=pending&limit=20", "", h);
        if (!r || r->status != 200) {
          return;
        }
        json::value page = json::parse(r->body);
        for (const auto& o : page.at("data").as_array()) {
          std::string off(o.at("id").as_string());
          std::string kase(o.at("case_id").as_string());
          c.request("POST", "/v1/offers/" + off + "/accept", "", h);
          c.request("POST", "/v1/cases/" + kase + "/resolve", R"({"resolution": "ok"})", h);
        }
      }
    });
    for (int t = 0; t < 3; ++t) {
      load.emplace_back([&, t] {
        HttpClient c(server.address(), 2000);
        std::vector<std::pair<std::string, std::string>> h = {{"Authorization", "Bearer " + gw},
                                                              {"Content-Type", "application/json"}};
        for (int n = 0; !stop; ++n) {
          auto r = c.request(
              "POST", "/v1/cases",
              R"({"channel": "chat", "subject": "crash", "body": "b", "customer": {"channel": "chat", "address": "crash:)" +
                  std::to_string((n * 3 + t) % 200) + R"("}})",
              h);
          if (!r) {
            return;  // killed
          }
          if (r->status == 201) {
            std::lock_guard lock(mu);
            acked.insert(row_id(json::parse(r->body).at("id").as_string()));
          }
        }
      });
    }
    // The kill comes after a random number of acknowledged cases (bounded in time), so it
    // lands at a random point of the load, whatever this machine's speed.
    std::size_t kill_after = 0;
    {
      std::lock_guard lock(mu);
      kill_after = acked.size() + std::uniform_int_distribution<std::size_t>(1, 120)(rng);
    }
    auto kill_by = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (acked.size() >= kill_after) {
          break;
        }
      }
      if (std::chrono::steady_clock::now() > kill_by) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE(server.stop(SIGKILL) == -SIGKILL);
    stop = true;
    for (auto& t : load) {
      t.join();
    }

    INFO("trial " << trial);
    baton::testing::Peek h(server.db(), /*writable=*/true);
    CHECK(h.count("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'") ==
          0);
    std::set<std::uint64_t> stored;
    {
      sqlite3_stmt* s = nullptr;
      REQUIRE(sqlite3_prepare_v2(h.db, "SELECT id FROM cases", -1, &s, nullptr) == SQLITE_OK);
      while (sqlite3_step(s) == SQLITE_ROW) {
        stored.insert(static_cast<std::uint64_t>(sqlite3_column_int64(s, 0)));
      }
      sqlite3_finalize(s);
    }
    std::size_t missing = 0;
    for (auto id : acked) {
      missing += stored.count(id) == 0 ? 1 : 0;
    }
    CHECK(missing == 0);
    // Nothing half-written: a case and its created event go together; an offered case
    // names its offer; a resolved one its time.
    CHECK(h.count("SELECT count(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM case_events e "
                  "WHERE e.case_id = c.id AND e.type = 'created')") == 0);
    CHECK(h.count("SELECT count(*) FROM case_events e WHERE NOT EXISTS (SELECT 1 FROM cases c "
                  "WHERE c.id = e.case_id)") == 0);
    CHECK(h.count("SELECT count(*) FROM cases WHERE status = 'offered' AND offer_id IS NULL") == 0);
    CHECK(h.count("SELECT count(*) FROM cases WHERE status = 'resolved' AND resolved_at IS NULL") ==
          0);
  }
  // A last start recovers and serves: every acknowledged case reads back over HTTP.
  server.start();
  HttpClient c(server.address());
  auto r = c.request("GET", "/v1/cases?limit=1", "", {{"Authorization", "Bearer " + sup}});
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(server.stop(SIGTERM) == 0);
  CHECK(acked.size() > static_cast<std::size_t>(trials) * 5);
  WARN("crash trials: " << trials << ", acknowledged cases checked: " << acked.size());
}
