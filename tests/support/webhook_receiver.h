#pragma once

// A webhook receiver on loopback for black-box tests: plain HTTP, or HTTPS with a
// certificate from a test CA made with the openssl command. Answers each request with the
// next scripted status (the last one repeats) and keeps what it got.

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace baton::testing {

struct Received {
  std::string signature, delivery, event, body;
};

// A test CA and a server certificate it signed, for `names` (subjectAltName entries such
// as "DNS:localhost"), as PEM files in `dir`: ca.pem, server.pem, server.key.
inline bool make_test_ca(const std::string& dir, const std::string& names) {
  std::string steps =
      "cd '" + dir +
      "'"
      " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=baton-test-ca"
      " -keyout ca.key -out ca.pem"
      " && openssl req -newkey rsa:2048 -nodes -subj /CN=receiver -keyout server.key"
      " -out server.csr"
      " && printf 'subjectAltName=" +
      names +
      "\\n' > ext.cnf"
      " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2"
      " -extfile ext.cnf -out server.pem";
  return std::system(("(" + steps + ") >/dev/null 2>&1").c_str()) == 0;
}

class Receiver {
 public:
  // `tls_dir`: serve HTTPS with server.pem/server.key from there (make_test_ca).
  explicit Receiver(std::vector<int> statuses, const std::string& tls_dir = "")
      : statuses_(std::move(statuses)),
        acceptor_(ioc_,
                  boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    if (!tls_dir.empty()) {
      tls_.emplace(boost::asio::ssl::context::tls_server);
      tls_->use_certificate_chain_file(tls_dir + "/server.pem");
      tls_->use_private_key_file(tls_dir + "/server.key", boost::asio::ssl::context::pem);
    }
    thread_ = std::thread([this] { run(); });
  }
  ~Receiver() {
    stop_ = true;
    boost::beast::error_code ec;
    boost::asio::ip::tcp::socket poke(ioc_);
    poke.connect(acceptor_.local_endpoint(), ec);  // unblocks accept()
    thread_.join();
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/hooks/baton"; }
  std::vector<Received> got() {
    std::lock_guard lock(mu_);
    return got_;
  }
  // TLS handshakes that failed (the client refused the certificate).
  int failed_handshakes() const { return failed_handshakes_.load(); }
  bool wait_for(std::size_t n, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (got().size() >= n) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  void run() {
    while (!stop_) {
      boost::beast::error_code ec;
      boost::asio::ip::tcp::socket s(ioc_);
      acceptor_.accept(s, ec);
      if (ec || stop_) {
        continue;
      }
      if (!tls_) {
        serve(s);
        continue;
      }
      boost::asio::ssl::stream<boost::asio::ip::tcp::socket> secure(std::move(s), *tls_);
      secure.handshake(boost::asio::ssl::stream_base::server, ec);
      if (ec) {
        ++failed_handshakes_;
        continue;
      }
      serve(secure);
    }
  }

  template <class Stream>
  void serve(Stream& s) {
    namespace http = boost::beast::http;
    boost::beast::error_code ec;
    boost::beast::flat_buffer buf;
    http::request<http::string_body> req;
    http::read(s, buf, req, ec);
    if (ec) {
      return;
    }
    int status = 0;
    {
      std::lock_guard lock(mu_);
      got_.push_back({std::string(req["Baton-Signature"]), std::string(req["Baton-Delivery"]),
                      std::string(req["Baton-Event"]), req.body()});
      status = statuses_[std::min(got_.size(), statuses_.size()) - 1];
    }
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.body() = "ok";
    res.prepare_payload();
    http::write(s, res, ec);
  }

  std::vector<int> statuses_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::optional<boost::asio::ssl::context> tls_;
  std::atomic<bool> stop_{false};
  std::atomic<int> failed_handshakes_{0};
  std::mutex mu_;
  std::vector<Received> got_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace baton::testing
