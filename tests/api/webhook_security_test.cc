// Black-box: where webhooks may go. Loopback, private and metadata addresses are refused
// on the address connected to (a name that resolves to one is refused too) unless allowed;
// a URL that cannot be delivered to is 422 at creation; one receiver that never answers
// does not hold the others' deliveries; https:// is verified against the trusted CAs and
// the host name; finished deliveries are pruned.

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <unistd.h>

#include "api_caller.h"
#include "baton_server.h"
#include "temp_dir.h"
#include "webhook_receiver.h"

namespace asio = boost::asio;
namespace json = boost::json;
using baton::testing::BatonServer;
using baton::testing::Caller;
using baton::testing::make_test_ca;
using baton::testing::metric;
using baton::testing::Receiver;
using baton::testing::str;
using baton::testing::TempDir;
using tcp = asio::ip::tcp;

namespace {

const char* kFast = "[webhooks]\npoll_interval = \"100ms\"\nbackoff_base = \"200ms\"\n";

std::string hook_body(const std::string& url) {
  return R"({"url": )" + json::serialize(json::value(url)) +
         R"(, "events": ["*"], "secret": "0123456789abcdef"})";
}

void post_case(BatonServer& server, const std::string& address) {
  Caller gw(server, server.token("gateway"));
  gw.ok(201, "POST", "/v1/cases",
        R"({"channel": "chat", "subject": "hello", "customer": {"channel": "chat", "address": ")" +
            address + R"("}})");
}

// Waits until the newest delivery of `hook` has been attempted; returns it.
json::object attempted(Caller& admin, const std::string& hook) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    auto list = admin.ok(200, "GET", "/v1/webhooks/" + hook + "/deliveries").at("data").as_array();
    if (!list.empty() && list[0].as_object().at("attempts").as_int64() >= 1) {
      return list[0].as_object();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL("no attempt was made for " << hook);
  return {};
}

// Subscribes `url`, posts a case, and returns the delivery once it has been attempted.
json::object first_attempt(BatonServer& server, const std::string& url) {
  Caller admin(server, server.token("admin"));
  auto hook = str(admin.ok(201, "POST", "/v1/webhooks", hook_body(url)).at("id"));
  post_case(server, "c:1");
  return attempted(admin, hook);
}

}  // namespace

TEST_CASE("webhooks: a URL that cannot be delivered to is 422 at creation",
          "[api][blackbox][webhooks][security]") {
  BatonServer server;
  Caller admin(server, server.token("admin"));
  for (const char* url :
       {"not a url", "ftp://example.com/hook", "http://", "http://user:pw@example.com/hook",
        "https://example.com:0/hook", "http://example.com:97877/hook",
        "http://169.254.169.254/latest/meta-data", "http://127.0.0.1:8080/hook",
        "http://10.1.2.3/hook", "http://[::1]/hook", "http://[::ffff:192.168.0.1]/hook"}) {
    INFO(url);
    auto r = admin.call("POST", "/v1/webhooks", hook_body(url));
    CHECK(r.status == 422);
    CHECK(r.body.find("\"url\"") != std::string::npos);
  }
  // Public names and addresses are fine at creation.
  admin.ok(201, "POST", "/v1/webhooks", hook_body("https://hooks.example.com/baton?x=1"));
  admin.ok(201, "POST", "/v1/webhooks", hook_body("http://93.184.216.34:8080/hook"));
}

TEST_CASE("webhooks: a name that resolves to loopback is refused at connect unless allowed",
          "[api][blackbox][webhooks][security]") {
  Receiver receiver({200});
  std::string url = "http://localhost:" + std::to_string(receiver.port()) + "/hook";
  SECTION("refused by default: the address connected to is what is checked") {
    BatonServer server(std::string(kFast) + "max_attempts = 1\n");
    auto d = first_attempt(server, url);
    CHECK(str(d.at("status")) == "dead");
    std::string error = str(d.at("last_error"));
    INFO(error);
    CHECK(error.find("refused: ") == 0);
    CHECK(error.find("loopback address") != std::string::npos);
    CHECK(receiver.got().empty());
  }
  SECTION("allowed by name") {
    BatonServer server(std::string(kFast) + "allow_hosts = [\"LocalHost\"]\n");
    Caller admin(server, server.token("admin"));
    auto hook = str(admin.ok(201, "POST", "/v1/webhooks", hook_body(url)).at("id"));
    post_case(server, "c:1");
    REQUIRE(receiver.wait_for(1, std::chrono::seconds(10)));
    CHECK(str(attempted(admin, hook).at("status")) == "delivered");
  }
  SECTION("allowed for every private address") {
    BatonServer server(std::string(kFast) + "allow_private = true\n");
    Caller admin(server, server.token("admin"));
    admin.ok(201, "POST", "/v1/webhooks", hook_body(url));
    post_case(server, "c:1");
    CHECK(receiver.wait_for(1, std::chrono::seconds(10)));
  }
}

TEST_CASE("webhooks: a receiver that never answers does not hold the others' deliveries",
          "[api][blackbox][webhooks][security]") {
  // It accepts connections (the kernel's backlog) and never reads or answers.
  asio::io_context ioc;
  tcp::acceptor stuck(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  Receiver good({200});
  BatonServer server(std::string(kFast) + "timeout = \"20s\"\nallow_hosts = [\"127.0.0.1\"]\n");
  Caller admin(server, server.token("admin"));
  // The stuck webhook first: its delivery is the older of each pair.
  auto stuck_hook = str(
      admin
          .ok(201, "POST", "/v1/webhooks",
              hook_body("http://127.0.0.1:" + std::to_string(stuck.local_endpoint().port()) + "/"))
          .at("id"));
  admin.ok(201, "POST", "/v1/webhooks", hook_body(good.url()));
  auto start = std::chrono::steady_clock::now();
  post_case(server, "c:1");
  post_case(server, "c:2");
  // Both reach the good receiver long before the stuck one's 20 s time-out.
  REQUIRE(good.wait_for(2, std::chrono::seconds(15)));
  auto took = std::chrono::steady_clock::now() - start;
  INFO(std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(took < std::chrono::seconds(10));
  // The stuck webhook's first delivery is still in flight: no attempt recorded yet.
  Caller ops(server, "");
  CHECK(metric(ops, "baton_webhook_in_flight") >= 1);
  auto stuck_list = admin.ok(200, "GET", "/v1/webhooks/" + stuck_hook + "/deliveries");
  for (const auto& d : stuck_list.at("data").as_array()) {
    CHECK(d.at("attempts").as_int64() == 0);
  }
}

TEST_CASE("webhooks: a DNS server that never answers costs one delivery its time-out, no more",
          "[api][blackbox][webhooks][security]") {
  if (::geteuid() != 0) {
    WARN("not run: giving the server its own resolv.conf needs root (a mount namespace)");
    return;
  }
  // A DNS server on loopback that takes queries and never answers; the server's lookups
  // go to it alone and would wait 30 s each.
  asio::io_context ioc;
  asio::ip::udp::socket dns(ioc);
  dns.open(asio::ip::udp::v4());
  boost::system::error_code ec;
  dns.bind(asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.54"), 53), ec);
  if (ec) {
    WARN("not run: cannot listen on 127.0.0.54:53: " << ec.message());
    return;
  }
  TempDir etc;
  std::string resolv = (etc.dir / "resolv.conf").string();
  {
    std::ofstream out(resolv);
    out << "nameserver 127.0.0.54\noptions timeout:30 attempts:1\n";
  }
  Receiver good({200});
  BatonServer server(
      std::string(kFast) + "timeout = \"1s\"\nmax_attempts = 1\nallow_hosts = [\"127.0.0.1\"]\n",
      "", {.resolv_conf = resolv});
  Caller admin(server, server.token("admin"));
  auto slow =
      str(admin.ok(201, "POST", "/v1/webhooks", hook_body("https://hooks.slow-dns.example/h"))
              .at("id"));
  admin.ok(201, "POST", "/v1/webhooks", hook_body(good.url()));
  auto start = std::chrono::steady_clock::now();
  post_case(server, "c:1");
  // The other receiver is served while the lookup hangs.
  REQUIRE(good.wait_for(1, std::chrono::seconds(10)));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
  // The lookup's delivery ends at its 1 s time-out, not at the resolver's 30 s.
  auto d = attempted(admin, slow);
  auto took = std::chrono::steady_clock::now() - start;
  INFO(str(d.at("last_error")));
  CHECK(str(d.at("last_error")) == "timed out after 1000 ms");
  CHECK(took < std::chrono::seconds(5));
}

TEST_CASE("webhooks: https is verified against the trusted CAs and the host name",
          "[api][blackbox][webhooks][security]") {
  TempDir certs;
  REQUIRE(make_test_ca(certs.dir.string(), "DNS:localhost"));
  Receiver receiver({200}, certs.dir.string());
  std::string port = std::to_string(receiver.port());
  std::string trust = "ca_file = \"" + (certs.dir / "ca.pem").string() + "\"\n";
  std::string allow = "allow_hosts = [\"localhost\", \"127.0.0.1\"]\nmax_attempts = 1\n";

  SECTION("a certificate from the trusted test CA for the host: delivered") {
    BatonServer server(std::string(kFast) + allow + trust);
    CHECK(str(first_attempt(server, "https://localhost:" + port + "/h").at("status")) ==
          "delivered");
    CHECK(receiver.got().size() == 1);
  }
  SECTION("the CA not trusted: the handshake fails, nothing is sent") {
    BatonServer server(std::string(kFast) + allow);
    auto d = first_attempt(server, "https://localhost:" + port + "/h");
    CHECK(str(d.at("status")) == "dead");
    INFO(str(d.at("last_error")));
    CHECK(str(d.at("last_error")).find("tls: ") == 0);
    CHECK(str(d.at("last_error")).find("certificate verify failed") != std::string::npos);
    CHECK(receiver.got().empty());
  }
  SECTION("trusted CA, another host name than the certificate's: refused") {
    BatonServer server(std::string(kFast) + allow + trust);
    auto d = first_attempt(server, "https://127.0.0.1:" + port + "/h");
    CHECK(str(d.at("status")) == "dead");
    INFO(str(d.at("last_error")));
    CHECK(str(d.at("last_error")).find("tls: ") == 0);
    CHECK(receiver.got().empty());
  }
}

TEST_CASE("webhooks: delivered and dead deliveries are pruned after keep_finished",
          "[api][blackbox][webhooks][security]") {
  Receiver receiver({200});
  BatonServer server(std::string(kFast) +
                     "allow_hosts = [\"127.0.0.1\"]\nkeep_finished = \"300ms\"\n");
  Caller admin(server, server.token("admin"));
  auto hook = str(admin.ok(201, "POST", "/v1/webhooks", hook_body(receiver.url())).at("id"));
  post_case(server, "c:1");
  REQUIRE(receiver.wait_for(1, std::chrono::seconds(10)));
  // Listed once delivered, then gone.
  bool gone = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!gone && std::chrono::steady_clock::now() < deadline) {
    gone =
        admin.ok(200, "GET", "/v1/webhooks/" + hook + "/deliveries").at("data").as_array().empty();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(gone);
  Caller ops(server, "");
  CHECK(metric(ops, "baton_webhook_pruned_total") >= 1);
}
