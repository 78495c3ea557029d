#include "webhooks.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <openssl/hmac.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include "codec.h"
#include "webhook_client.h"

namespace baton::api {

namespace asio = boost::asio;

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

}  // namespace

// Two threads: the poller reads the outbox and records each attempt (the outbox's one
// connection is used there alone); the io thread runs the POSTs, many at once, one per
// webhook at a time, so a receiver that never answers holds its own deliveries only.
struct WebhookSender::Impl {
  WebhookOptions options;
  engine::WebhookOutbox& outbox;
  engine::Clock& clock;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  WebhookClient client;
  std::mutex mu;
  std::condition_variable cv;
  bool woken = false;     // GUARDED_BY(mu)
  bool stopping = false;  // GUARDED_BY(mu)
  // Webhooks with a delivery in flight, and what finished, for the poller to record.
  std::set<std::uint64_t> busy;                   // GUARDED_BY(mu)
  std::vector<engine::DeliveryAttempt> finished;  // GUARDED_BY(mu)
  std::atomic<std::uint64_t> delivered{0}, failed{0}, dead{0}, pruned{0};
  std::atomic<std::size_t> in_flight{0};
  TimePoint last_prune{};
  std::thread poller, io;

  Impl(WebhookOptions o, engine::WebhookOutbox& ob, engine::Clock& c)
      : options(o),
        outbox(ob),
        clock(c),
        client(ioc, AddressPolicy{o.allow_private, o.allow_hosts}, o.ca_file) {}

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

  // On the poller: starts one delivery on the io thread, or ends it at once (a removed
  // webhook).
  void start(engine::DueDelivery& d) {
    engine::DeliveryAttempt a;
    a.id = d.record.id;
    a.attempts = d.record.attempts + 1;
    a.payload = d.payload.empty() ? body_of(d) : d.payload;
    a.at = clock.now();
    if (!d.webhook.active) {
      a.status = "dead";
      a.error = "the webhook was removed";
      a.next_attempt_at = a.at;
      record(a);
      return;
    }
    long long unix_s = a.at.time_since_epoch().count() / 1000;
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Baton-Signature", webhook_signature(d.webhook.secret, unix_s, a.payload)},
        {"Baton-Delivery", id_text("dlv_", d.record.id.value())},
        {"Baton-Event", d.record.event_type}};
    std::uint64_t hook = d.webhook.id.value();
    {
      std::lock_guard lock(mu);
      busy.insert(hook);
    }
    ++in_flight;
    std::string body = a.payload;
    asio::post(ioc, [this, url = d.webhook.url, headers = std::move(headers),
                     body = std::move(body), a = std::move(a), hook]() mutable {
      client.post(url, std::move(headers), std::move(body), options.timeout,
                  [this, a = std::move(a), hook](PostOutcome r) mutable {
                    a.http_status = r.status;
                    a.error = std::move(r.error);
                    {
                      std::lock_guard lock(mu);
                      busy.erase(hook);
                      finished.push_back(std::move(a));
                      woken = true;
                    }
                    --in_flight;
                    cv.notify_one();
                  });
    });
  }

  // On the poller: what an attempt's answer means for the delivery, written to the outbox.
  void conclude(engine::DeliveryAttempt& a) {
    if (a.error.empty()) {
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
    if (a.status != "pending") {
      a.next_attempt_at = a.at;
    }
    if (a.status != "delivered") {
      spdlog::warn(
          R"("msg":"webhook delivery failed","delivery":"{}","attempts":{},"status":"{}","error":"{}")",
          id_text("dlv_", a.id.value()), a.attempts, a.status, json_escape(a.error));
    }
    record(a);
  }

  void record(const engine::DeliveryAttempt& a) {
    if (auto st = outbox.record(a); !st) {
      spdlog::error(R"("msg":"webhook outbox update failed","error":"{}")",
                    json_escape(st.error().message));
    }
  }

  // Delivered and dead rows older than keep_finished go, a bounded batch at a time.
  void prune(TimePoint now) {
    Duration every = std::min(Duration{60'000}, std::max(Duration{10}, options.keep_finished / 2));
    if (now - last_prune < every) {
      return;
    }
    last_prune = now;
    auto n = outbox.prune(now - options.keep_finished, 10'000);
    if (!n) {
      spdlog::error(R"("msg":"webhook outbox prune failed","error":"{}")",
                    json_escape(n.error().message));
      return;
    }
    pruned += n.value();
  }

  void run() {
    for (;;) {
      std::vector<engine::DeliveryAttempt> done;
      std::vector<engine::WebhookId> skip;
      {
        std::unique_lock lock(mu);
        cv.wait_for(lock, std::chrono::milliseconds(options.poll_interval.count()),
                    [this] { return woken || stopping; });
        if (stopping) {
          return;
        }
        woken = false;
        done.swap(finished);
        for (auto id : busy) {
          skip.emplace_back(id);
        }
      }
      for (auto& a : done) {
        conclude(a);
      }
      TimePoint now = clock.now();
      prune(now);
      std::size_t room = options.concurrency - std::min(options.concurrency, in_flight.load());
      if (room == 0) {
        continue;
      }
      auto due = outbox.due(now, std::min(room, options.batch), skip);
      if (!due) {
        spdlog::error(R"("msg":"webhook outbox read failed","error":"{}")",
                      json_escape(due.error().message));
        continue;
      }
      // One delivery per webhook at a time: of several due for one webhook, the oldest.
      std::set<std::uint64_t> started;
      for (auto& d : due.value()) {
        if (started.insert(d.webhook.id.value()).second) {
          start(d);
        }
      }
      if (due->size() == std::min(room, options.batch)) {
        std::lock_guard lock(mu);
        woken = true;  // more may be due: read again at once
      }
    }
  }
};

WebhookSender::WebhookSender(WebhookOptions options, engine::WebhookOutbox& outbox,
                             engine::Clock& clock)
    : impl_(std::make_unique<Impl>(options, outbox, clock)) {
  impl_->io = std::thread([this] {
    pthread_setname_np(pthread_self(), "baton-hooks-io");
    impl_->ioc.run();
  });
  impl_->poller = std::thread([this] {
    pthread_setname_np(pthread_self(), "baton-webhooks");
    impl_->run();
  });
}

const std::string& WebhookSender::error() const { return impl_->client.error(); }

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
  if (impl_->poller.joinable()) {
    impl_->poller.join();
  }
  // Deliveries in flight are dropped: their rows are still pending, sent again later.
  impl_->work.reset();
  impl_->ioc.stop();
  if (impl_->io.joinable()) {
    impl_->io.join();
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
         std::to_string(impl_->dead.load()) +
         "\n# TYPE baton_webhook_in_flight gauge\nbaton_webhook_in_flight " +
         std::to_string(impl_->in_flight.load()) +
         "\n# TYPE baton_webhook_pruned_total counter\nbaton_webhook_pruned_total " +
         std::to_string(impl_->pruned.load()) + "\n";
}

}  // namespace baton::api
