// Black-box: webhooks from the real binary to a real HTTP receiver on loopback, started by
// the test. Signed, retried with back-off across a restart, delivered once per id, dead
// after the last attempt, visible in the deliveries list.

#include <atomic>
#include <chrono>
#include <csignal>
#include <mutex>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <openssl/hmac.h>

#include "api_caller.h"
#include "baton_server.h"
#include "webhook_receiver.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using baton::testing::BatonServer;
using baton::testing::Caller;
using baton::testing::Received;
using baton::testing::Receiver;
using baton::testing::str;
using tcp = asio::ip::tcp;

namespace {

std::string hmac_hex(const std::string& key, const std::string& text) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &len);
  std::string hex;
  char b[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", mac[i]);
    hex += b;
  }
  return hex;
}

// Checks "t=<unix>,v1=<hex>" against the body, as a receiver would.
void check_signature(const Received& r, const std::string& secret) {
  INFO(r.signature);
  auto comma = r.signature.find(",v1=");
  REQUIRE(r.signature.starts_with("t="));
  REQUIRE(comma != std::string::npos);
  std::string t = r.signature.substr(2, comma - 2);
  std::string v1 = r.signature.substr(comma + 4);
  CHECK(v1 == hmac_hex(secret, t + "." + r.body));
  CHECK(v1 != hmac_hex(secret + "x", t + "." + r.body));
  long long age = static_cast<long long>(std::time(nullptr)) - std::stoll(t);
  CHECK(age >= -5);
  CHECK(age <= 300);
}

// Waits until the newest delivery of `hook` is in `status` with at least `attempts` made
// (the receiver sees a request a moment before the sender records its answer).
json::object wait_delivery(Caller& admin, const std::string& hook, const std::string& status,
                           std::int64_t attempts = 1) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  json::object last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto list = admin.ok(200, "GET", "/v1/webhooks/" + hook + "/deliveries").at("data").as_array();
    if (!list.empty()) {
      last = list[0].as_object();
      if (str(last.at("status")) == status && last.at("attempts").as_int64() >= attempts) {
        return last;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL("no delivery reached " << status << "; last: " << json::serialize(last));
  return last;
}

// The receivers listen on loopback, which webhooks may not reach unless allowed.
const char* kConfig =
    "[webhooks]\nbackoff_base = \"300ms\"\npoll_interval = \"100ms\"\nmax_attempts = 3\n"
    "timeout = \"2s\"\nallow_hosts = [\"127.0.0.1\"]\n";

}  // namespace

TEST_CASE("webhooks: signed, retried across a restart, delivered once per id",
          "[api][blackbox][webhooks]") {
  Receiver receiver({500, 500, 200});
  BatonServer server(kConfig);
  const std::string secret = "whsec-0123456789abcdef";
  std::string hook;
  {
    Caller admin(server, server.token("admin"));
    Caller sup(server, server.token("supervisor"));
    std::string body = R"({"url": ")" + receiver.url() +
                       R"(", "events": ["case.created", "handoff.created"], "secret": ")" + secret +
                       R"("})";
    CHECK(sup.call("POST", "/v1/webhooks", body).status == 403);
    CHECK(
        admin
            .call("POST", "/v1/webhooks",
                  R"({"url": "ftp://x", "events": ["case.created"], "secret": "0123456789abcdef"})")
            .status == 422);
    CHECK(
        admin
            .call(
                "POST", "/v1/webhooks",
                R"({"url": "http://127.0.0.1:1/x", "events": ["case.exploded"], "secret": "0123456789abcdef"})")
            .status == 422);
    CHECK(
        admin
            .call(
                "POST", "/v1/webhooks",
                R"({"url": "http://127.0.0.1:1/x", "events": ["case.created"], "secret": "short"})")
            .status == 422);
    auto w = admin.ok(201, "POST", "/v1/webhooks", body);
    hook = str(w.at("id"));
    CHECK(hook.starts_with("whk_"));
    CHECK_FALSE(w.contains("secret"));  // shown never again
    CHECK(w.at("active").as_bool());
    CHECK(admin.ok(200, "GET", "/v1/webhooks").at("data").as_array().size() == 1);

    Caller gw(server, server.token("gateway"));
    auto c = gw.ok(
        201, "POST", "/v1/cases",
        R"({"channel": "chat", "subject": "hook me", "customer": {"channel": "chat", "address": "web:1"}})");
    REQUIRE(receiver.wait_for(1, std::chrono::seconds(10)));
    auto first = wait_delivery(admin, hook, "pending");
    CHECK(first.at("attempts").as_int64() == 1);
    CHECK(first.at("last_status").as_int64() == 500);
    CHECK(str(first.at("case_id")) == str(c.at("id")));
  }
  // The receiver failed once; the server stops and comes back: the delivery is not lost.
  REQUIRE(server.stop(SIGTERM) == 0);
  server.start();
  REQUIRE(receiver.wait_for(3, std::chrono::seconds(15)));
  Caller admin(server, server.token("admin"));
  auto done = wait_delivery(admin, hook, "delivered");
  CHECK(done.at("attempts").as_int64() == 3);
  CHECK(done.at("last_status").as_int64() == 200);
  CHECK(done.at("delivered_at").is_string());

  // No more sends for it: a later case's delivery, which the same poller sends after any
  // due retry, arrives with the first still at three attempts. Every attempt was the same
  // delivery, same bytes, validly signed.
  Caller gw(server, server.token("gateway"));
  gw.ok(
      201, "POST", "/v1/cases",
      R"({"channel": "chat", "subject": "after", "customer": {"channel": "chat", "address": "web:2"}})");
  REQUIRE(receiver.wait_for(4, std::chrono::seconds(10)));
  auto got = receiver.got();
  REQUIRE(got.size() == 4);
  CHECK(got[3].delivery != got[0].delivery);
  got.pop_back();
  for (const auto& r : got) {
    CHECK(r.delivery == got[0].delivery);
    CHECK(r.body == got[0].body);
    CHECK(r.event == "case.created");
    check_signature(r, secret);
  }
  CHECK(got[0].delivery == str(done.at("id")));
  auto payload = json::parse(got[0].body).as_object();
  CHECK(str(payload.at("id")) == got[0].delivery);
  CHECK(str(payload.at("type")) == "case.created");
  CHECK(str(payload.at("webhook_id")) == hook);
  CHECK(str(payload.at("data").at("event").at("type")) == "created");
  CHECK(str(payload.at("data").at("case").at("id")) == str(done.at("case_id")));
}

TEST_CASE("webhooks: a receiver that never answers ends dead, a removed webhook gets nothing",
          "[api][blackbox][webhooks]") {
  // A port with nothing listening: bind, note, close.
  std::uint16_t closed_port = 0;
  {
    asio::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed_port = a.local_endpoint().port();
  }
  Receiver receiver({200});
  BatonServer server(kConfig);
  Caller admin(server, server.token("admin"));
  Caller gw(server, server.token("gateway"));
  auto dead = admin.ok(201, "POST", "/v1/webhooks",
                       R"({"url": "http://127.0.0.1:)" + std::to_string(closed_port) +
                           R"(/x", "events": ["*"], "secret": "0123456789abcdef"})");
  auto live =
      admin.ok(201, "POST", "/v1/webhooks",
               R"({"url": ")" + receiver.url() +
                   R"(", "events": ["case.status_changed"], "secret": "0123456789abcdef"})");
  gw.ok(
      201, "POST", "/v1/cases",
      R"({"channel": "chat", "subject": "one", "customer": {"channel": "chat", "address": "web:2"}})");
  auto gone = wait_delivery(admin, str(dead.at("id")), "dead");
  CHECK(gone.at("attempts").as_int64() == 3);
  CHECK(gone.at("last_status").is_null());
  CHECK(str(gone.at("last_error")).find("connect") != std::string::npos);
  CHECK(gone.at("next_attempt_at").is_null());
  // "*" took every event of the case; the live hook wanted only status changes (none yet).
  CHECK(admin.ok(200, "GET", "/v1/webhooks/" + str(dead.at("id")) + "/deliveries")
            .at("data")
            .as_array()
            .size() >= 1);
  CHECK(admin.ok(200, "GET", "/v1/webhooks/" + str(live.at("id")) + "/deliveries")
            .at("data")
            .as_array()
            .empty());

  // The seeds' automation: tell the customer when their case changes status.
  auto sup = Caller(server, server.token("supervisor"));
  auto first = admin.ok(200, "GET", "/v1/cases?limit=1").at("data").as_array().at(0);
  sup.ok(200, "POST", "/v1/cases/" + str(first.at("id")) + "/resolve", R"({"resolution": "done"})");
  REQUIRE(receiver.wait_for(1, std::chrono::seconds(10)));
  auto changed = json::parse(receiver.got().at(0).body);
  CHECK(str(changed.at("type")) == "case.status_changed");
  CHECK(str(changed.at("data").at("event").at("data").at("to")) == "resolved");
  CHECK(str(changed.at("data").at("case").at("status")) == "resolved");
  CHECK(wait_delivery(admin, str(live.at("id")), "delivered").at("attempts").as_int64() == 1);

  auto removed = admin.ok(200, "DELETE", "/v1/webhooks/" + str(live.at("id")));
  CHECK_FALSE(removed.at("active").as_bool());
  auto c = gw.ok(
      201, "POST", "/v1/cases",
      R"({"channel": "chat", "subject": "two", "customer": {"channel": "chat", "address": "web:3"}})");
  sup.ok(200, "POST", "/v1/cases/" + str(c.at("id")) + "/resolve", R"({"resolution": "spam"})");
  // Deliveries are made in the commit of their events: once the resolve is answered, the
  // removed webhook's outbox is what it will ever be.
  CHECK(admin.ok(200, "GET", "/v1/webhooks/" + str(live.at("id")) + "/deliveries")
            .at("data")
            .as_array()
            .size() == 1);
  CHECK(receiver.got().size() == 1);  // nothing after the removal
  CHECK(admin.call("GET", "/v1/webhooks/whk_zzzzzzzz/deliveries").status == 404);
  CHECK(admin.call("DELETE", "/v1/webhooks/whk_zzzzzzzz").status == 404);
}
