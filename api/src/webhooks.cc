#include "webhooks.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <openssl/hmac.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include "codec.h"

namespace baton::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string webhook_signature(const std::string& secret, long long unix_seconds,
                              const std::string& body) {
  std::string t = std::to_string(unix_seconds);
  std::string signed_text = t + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 15]);
  }
  return "t=" + t + ",v1=" + hex;
}

namespace {

// Text for a JSON log line (quotes and control characters escaped).
std::string json_escape(const std::string& s) {
  std::string quoted = json::serialize(json::value(s));
  return quoted.substr(1, quoted.size() - 2);
}

struct Outcome {
  std::optional<int> status;
  std::string error;
};

// One POST, every step bounded by `timeout` in all.
Outcome post(const std::string& url,
             const std::vector<std::pair<std::string, std::string>>& headers,
             const std::string& body, Duration timeout) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || parsed->scheme() != "http" || !parsed->has_authority()) {
    return {std::nullopt, "not an http:// URL"};
  }
  std::string host = parsed->host();
  std::string port = parsed->has_port() ? std::string(parsed->port()) : "80";
  std::string target =
      parsed->encoded_target().empty() ? "/" : std::string(parsed->encoded_target());

  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  auto results = resolver.resolve(host, port, ec);
  if (ec) {
    return {std::nullopt, "resolve: " + ec.message()};
  }
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, host + (parsed->has_port() ? ":" + port : ""));
  req.set(http::field::content_type, "application/json");
  req.set(http::field::user_agent, "baton-webhooks/1");
  for (const auto& [k, v] : headers) {
    req.set(k, v);
  }
  req.body() = body;
  req.prepare_payload();
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  Outcome out;
  stream.expires_after(std::chrono::milliseconds(timeout.count()));
  stream.async_connect(results, [&](beast::error_code e, const tcp::endpoint&) {
    if (e) {
      out.error = "connect: " + e.message();
      return;
    }
    http::async_write(stream, req, [&](beast::error_code e2, std::size_t) {
      if (e2) {
        out.error = "send: " + e2.message();
        return;
      }
      http::async_read(stream, buf, res, [&](beast::error_code e3, std::size_t) {
        if (e3) {
          out.error = "answer: " + e3.message();
          return;
        }
        out.status = static_cast<int>(res.result_int());
      });
    });
  });
  ioc.run();
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  if (out.status && (*out.status < 200 || *out.status > 299)) {
    out.error = "HTTP " + std::to_string(*out.status);
  }
  return out;
}

}  // namespace

struct WebhookSender::Impl {
  WebhookOptions options;
  engine::WebhookOutbox& outbox;
  engine::Clock& clock;
  std::mutex mu;
  std::condition_variable cv;
  bool woken = false;     // GUARDED_BY(mu)
  bool stopping = false;  // GUARDED_BY(mu)
  std::atomic<std::uint64_t> delivered{0}, failed{0}, dead{0};
  std::thread thread;

  Impl(WebhookOptions o, engine::WebhookOutbox& ob, engine::Clock& c)
      : options(o), outbox(ob), clock(c) {}

  bool stop_requested() {
    std::lock_guard lock(mu);
    return stopping;
  }

  std::string body_of(const engine::DueDelivery& d) {
    json::object data;
    data["event"] = d.event ? json::value(to_json(*d.event)) : json::value(nullptr);
    data["case"] = d.kase ? json::value(to_json(*d.kase)) : json::value(nullptr);
    return json::serialize(json::object{{"id", id_text("dlv_", d.record.id.value())},
                                        {"type", d.record.event_type},
                                        {"webhook_id", id_text("whk_", d.webhook.id.value())},
                                        {"created_at", format_time(d.record.created_at)},
                                        {"data", std::move(data)}});
  }

  void deliver(engine::DueDelivery& d) {
    engine::DeliveryAttempt a;
    a.id = d.record.id;
    a.attempts = d.record.attempts + 1;
    a.payload = d.payload.empty() ? body_of(d) : d.payload;
    a.at = clock.now();
    if (!d.webhook.active) {
      a.status = "dead";
      a.error = "the webhook was removed";
    } else {
      long long unix_s = a.at.time_since_epoch().count() / 1000;
      Outcome r = post(d.webhook.url,
                       {{"Baton-Signature", webhook_signature(d.webhook.secret, unix_s, a.payload)},
                        {"Baton-Delivery", id_text("dlv_", d.record.id.value())},
                        {"Baton-Event", d.record.event_type}},
                       a.payload, options.timeout);
      a.http_status = r.status;
      a.error = r.error;
      if (r.error.empty()) {
        a.status = "delivered";
        ++delivered;
      } else if (a.attempts >= options.max_attempts) {
        a.status = "dead";
        ++dead;
      } else {
        a.status = "pending";
        ++failed;
        Duration wait = options.backoff_base;
        for (int i = 1; i < a.attempts && wait < options.backoff_max; ++i) {
          wait *= 2;
        }
        a.next_attempt_at = a.at + std::min(wait, options.backoff_max);
      }
    }
    if (a.status != "pending") {
      a.next_attempt_at = a.at;
    }
    if (a.status != "delivered") {
      spdlog::warn(
          R"("msg":"webhook delivery failed","delivery":"{}","attempts":{},"status":"{}","error":"{}")",
          id_text("dlv_", d.record.id.value()), a.attempts, a.status, json_escape(a.error));
    }
    if (auto st = outbox.record(a); !st) {
      spdlog::error(R"("msg":"webhook outbox update failed","error":"{}")",
                    json_escape(st.error().message));
    }
  }

  void run() {
    for (;;) {
      {
        std::unique_lock lock(mu);
        cv.wait_for(lock, std::chrono::milliseconds(options.poll_interval.count()),
                    [this] { return woken || stopping; });
        if (stopping) {
          return;
        }
        woken = false;
      }
      for (;;) {
        auto due = outbox.due(clock.now(), options.batch);
        if (!due) {
          spdlog::error(R"("msg":"webhook outbox read failed","error":"{}")",
                        json_escape(due.error().message));
          break;
        }
        for (auto& d : due.value()) {
          if (stop_requested()) {
            return;
          }
          deliver(d);
        }
        if (due->size() < options.batch) {
          break;
        }
      }
    }
  }
};

WebhookSender::WebhookSender(WebhookOptions options, engine::WebhookOutbox& outbox,
                             engine::Clock& clock)
    : impl_(std::make_unique<Impl>(options, outbox, clock)) {
  impl_->thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "baton-webhooks");
    impl_->run();
  });
}

WebhookSender::~WebhookSender() { stop(); }

void WebhookSender::wake() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->woken = true;
  }
  impl_->cv.notify_one();
}

void WebhookSender::stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_one();
  if (impl_->thread.joinable()) {
    impl_->thread.join();
  }
}

std::string WebhookSender::metrics_text() const {
  return "# TYPE baton_webhook_deliveries_total counter\n"
         "baton_webhook_deliveries_total{result=\"delivered\"} " +
         std::to_string(impl_->delivered.load()) +
         "\n"
         "baton_webhook_deliveries_total{result=\"retry\"} " +
         std::to_string(impl_->failed.load()) +
         "\n"
         "baton_webhook_deliveries_total{result=\"dead\"} " +
         std::to_string(impl_->dead.load()) + "\n";
}

}  // namespace baton::api
