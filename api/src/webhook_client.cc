#include "webhook_client.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <netdb.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

namespace baton::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// Where a lookup thread hands its answer: the io_context while the client lives, nothing
// after (a lookup may outlast its delivery, its client and the io_context).
struct Gate {
  std::mutex mu;
  asio::io_context* ioc = nullptr;  // GUARDED_BY(mu)
  std::atomic<int> lookups{0};      // threads resolving now
};

// Lookups running at once, at most: a DNS server that never answers costs threads until
// its lookups time out in the C library; past this, deliveries fail at once instead.
constexpr int kMaxLookups = 64;

}  // namespace

struct WebhookClient::Impl {
  Impl(asio::io_context& i, AddressPolicy p) : ioc(i), policy(std::move(p)) { gate->ioc = &ioc; }
  ~Impl() {
    std::lock_guard lock(gate->mu);
    gate->ioc = nullptr;
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  asio::io_context& ioc;
  AddressPolicy policy;
  ssl::context tls{ssl::context::tls_client};
  std::string error;
  std::shared_ptr<Gate> gate = std::make_shared<Gate>();
};

namespace {

// getaddrinfo on a thread of its own; the answer is posted to the io_context unless the
// client is gone by then (the delivery itself may have timed out: it ignores a late one).
void resolve(WebhookClient::Impl& client, const std::string& host, const std::string& port,
             std::function<void(std::vector<tcp::endpoint>, std::string)> done) {
  boost::system::error_code ec;
  auto literal = asio::ip::make_address(host, ec);
  if (!ec) {
    asio::post(client.ioc,
               [done = std::move(done),
                ep = tcp::endpoint(literal, static_cast<unsigned short>(std::stoi(port)))] {
                 done({ep}, "");
               });
    return;
  }
  auto gate = client.gate;
  if (gate->lookups.fetch_add(1) >= kMaxLookups) {
    gate->lookups.fetch_sub(1);
    asio::post(client.ioc,
               [done = std::move(done)] { done({}, "resolve: too many lookups in progress"); });
    return;
  }
  std::thread([gate, host, port, done = std::move(done)]() mutable {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    std::vector<tcp::endpoint> eps;
    std::string error;
    if (rc != 0) {
      error = std::string("resolve: ") + ::gai_strerror(rc);
    } else {
      for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        tcp::endpoint ep;
        ep.resize(a->ai_addrlen);
        std::memcpy(ep.data(), a->ai_addr, a->ai_addrlen);
        eps.push_back(ep);
      }
      ::freeaddrinfo(found);
    }
    std::lock_guard lock(gate->mu);
    gate->lookups.fetch_sub(1);
    if (gate->ioc != nullptr) {
      asio::post(*gate->ioc, [done = std::move(done), eps = std::move(eps),
                              error = std::move(error)] { done(eps, error); });
    }
  }).detach();
}

class Post : public std::enable_shared_from_this<Post> {
 public:
  Post(WebhookClient::Impl& client, WebhookUrl url, http::request<http::string_body> req,
       Duration timeout, std::function<void(PostOutcome)> done)
      : client_(client),
        url_(std::move(url)),
        req_(std::move(req)),
        timeout_(timeout),
        deadline_(std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout.count())),
        timer_(client.ioc),
        done_(std::move(done)) {}

  void start() {
    // The time-out covers the name's resolution too.
    timer_.expires_at(deadline_);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) {
        self->finish({std::nullopt, "timed out after " + self->elapsed()});
      }
    });
    resolve(client_, url_.host, url_.port,
            [self = shared_from_this()](std::vector<tcp::endpoint> eps, std::string error) {
              self->resolved(std::move(eps), std::move(error));
            });
  }

 private:
  void resolved(std::vector<tcp::endpoint> eps, std::string error) {
    if (finished_) {
      return;
    }
    if (!error.empty()) {
      return finish({std::nullopt, error});
    }
    // Only the addresses the policy allows are connected to: the check is on what was
    // resolved, not on the name.
    std::vector<tcp::endpoint> allowed;
    std::string refused;
    for (const auto& ep : eps) {
      if (auto why = client_.policy.refuse(url_.host, ep.address())) {
        refused = *why;
      } else {
        allowed.push_back(ep);
      }
    }
    if (allowed.empty()) {
      return finish(
          {std::nullopt, refused.empty() ? "resolve: no address" : "refused: " + refused});
    }
    if (url_.tls) {
      tls_.emplace(client_.ioc, client_.tls);
      SSL* ssl = tls_->native_handle();
      boost::system::error_code ec;
      asio::ip::make_address(url_.host, ec);
      if (ec) {
        SSL_set_tlsext_host_name(ssl, url_.host.c_str());  // SNI, for names only
        SSL_set1_host(ssl, url_.host.c_str());
      } else {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url_.host.c_str());
      }
      tls_->set_verify_mode(ssl::verify_peer);
      connect(beast::get_lowest_layer(*tls_), std::move(allowed));
    } else {
      plain_.emplace(client_.ioc);
      connect(*plain_, std::move(allowed));
    }
  }

  void connect(beast::tcp_stream& tcp_layer, std::vector<tcp::endpoint> eps) {
    tcp_layer.expires_at(deadline_);
    tcp_layer.async_connect(
        eps, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
          if (ec) {
            return self->fail("connect", ec);
          }
          if (self->tls_) {
            self->tls_->async_handshake(ssl::stream_base::client, [self](beast::error_code hec) {
              if (hec) {
                return self->fail("tls", hec);
              }
              self->exchange(*self->tls_);
            });
          } else {
            self->exchange(*self->plain_);
          }
        });
  }

  template <class Stream>
  void exchange(Stream& s) {
    http::async_write(s, req_, [self = shared_from_this(), &s](beast::error_code ec, std::size_t) {
      if (ec) {
        return self->fail("send", ec);
      }
      http::async_read(s, self->buf_, self->res_, [self](beast::error_code rec, std::size_t) {
        if (rec) {
          return self->fail("answer", rec);
        }
        PostOutcome out;
        out.status = static_cast<int>(self->res_.result_int());
        if (*out.status < 200 || *out.status > 299) {
          out.error = "HTTP " + std::to_string(*out.status);
        }
        self->finish(std::move(out));
      });
    });
  }

  void fail(const char* step, beast::error_code ec) {
    if (ec == beast::error::timeout || ec == asio::error::operation_aborted) {
      return finish({std::nullopt, "timed out after " + elapsed()});
    }
    finish({std::nullopt, std::string(step) + ": " + ec.message()});
  }

  std::string elapsed() const { return std::to_string(timeout_.count()) + " ms"; }

  void finish(PostOutcome out) {
    if (finished_) {
      return;
    }
    finished_ = true;
    timer_.cancel();
    beast::error_code ignored;
    if (plain_) {
      plain_->socket().shutdown(tcp::socket::shutdown_both, ignored);
      plain_->close();
    }
    if (tls_) {
      beast::get_lowest_layer(*tls_).close();
    }
    auto done = std::move(done_);
    done(std::move(out));
  }

  WebhookClient::Impl& client_;
  WebhookUrl url_;
  http::request<http::string_body> req_;
  Duration timeout_;
  std::chrono::steady_clock::time_point deadline_;
  asio::steady_timer timer_;
  std::function<void(PostOutcome)> done_;
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buf_;
  http::response<http::string_body> res_;
  bool finished_ = false;
};

}  // namespace

WebhookClient::WebhookClient(asio::io_context& ioc, AddressPolicy policy,
                             const std::string& ca_file)
    : impl_(std::make_unique<Impl>(ioc, std::move(policy))) {
  boost::system::error_code ec;
  impl_->tls.set_default_verify_paths(ec);
  if (!ec && !ca_file.empty()) {
    impl_->tls.load_verify_file(ca_file, ec);
  }
  if (ec) {
    impl_->error = "webhooks.ca_file '" + ca_file + "': " + ec.message();
  }
  impl_->tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1);
}

WebhookClient::~WebhookClient() = default;

const std::string& WebhookClient::error() const { return impl_->error; }

void WebhookClient::post(const std::string& url,
                         std::vector<std::pair<std::string, std::string>> headers, std::string body,
                         Duration timeout, std::function<void(PostOutcome)> done) {
  auto parsed = parse_webhook_url(url);
  if (!parsed) {
    asio::post(impl_->ioc, [done = std::move(done), why = parsed.error().message] {
      done({std::nullopt, "url " + why});
    });
    return;
  }
  const WebhookUrl& u = parsed.value();
  bool default_port = u.port == (u.tls ? "443" : "80");
  bool v6 = u.host.find(':') != std::string::npos;
  http::request<http::string_body> req{http::verb::post, u.target, 11};
  req.set(http::field::host,
          (v6 ? "[" + u.host + "]" : u.host) + (default_port ? "" : ":" + u.port));
  req.set(http::field::content_type, "application/json");
  req.set(http::field::user_agent, "baton-webhooks/1");
  for (const auto& [k, v] : headers) {
    req.set(k, v);
  }
  req.body() = std::move(body);
  req.prepare_payload();
  std::make_shared<Post>(*impl_, parsed.value(), std::move(req), timeout, std::move(done))->start();
}

}  // namespace baton::api
