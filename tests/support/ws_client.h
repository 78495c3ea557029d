#pragma once

// A WebSocket client for black-box tests and the offer-latency benchmark: Boost.Beast's
// client side on its own thread, reading every message into a queue that the test takes
// from with a deadline. A client made `stalled` never reads (and asks the kernel for a
// small receive buffer), as a client on a bad network would.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

namespace baton::testing {

class WsClient {
 public:
  struct Options {
    std::string authorization;  // "Bearer …"; empty: none
    bool stalled = false;       // never read
    // Called on the client's thread with each message as it arrives (the benchmark).
    std::function<void(const std::string&)> on_message;
  };

  // Connects to "HOST:PORT" and upgrades `target`. ok() says whether it worked; error()
  // says why not (for a refused upgrade, Beast's words and the HTTP status).
  WsClient(const std::string& address, const std::string& target, Options options)
      : options_(std::move(options)), work_(ioc_.get_executor()), ws_(ioc_) {
    namespace asio = boost::asio;
    auto colon = address.rfind(':');
    std::string host = address.substr(0, colon);
    std::string port = address.substr(colon + 1);
    boost::system::error_code ec;
    asio::ip::tcp::resolver resolver(ioc_);
    auto endpoints = resolver.resolve(host, port, ec);
    auto& sock = boost::beast::get_lowest_layer(ws_).socket();
    if (!ec) {
      sock.open(asio::ip::tcp::v4(), ec);
    }
    if (!ec && options_.stalled) {
      sock.set_option(asio::socket_base::receive_buffer_size(4096), ec);
    }
    if (!ec) {
      sock.connect(*endpoints.begin(), ec);
    }
    if (!ec) {
      ws_.set_option(boost::beast::websocket::stream_base::decorator(
          [auth = options_.authorization](boost::beast::websocket::request_type& req) {
            if (!auth.empty()) {
              req.set(boost::beast::http::field::authorization, auth);
            }
          }));
      ws_.handshake(response_, host, target, ec);
    }
    if (ec) {
      error_ = ec.message();
      status_ = response_.result_int();
      work_.reset();
      return;
    }
    ok_ = true;
    status_ = 101;
    if (!options_.stalled) {
      read();
    }
    thread_ = std::thread([this] { ioc_.run(); });
  }

  ~WsClient() { close(); }
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  bool ok() const { return ok_; }
  int status() const { return status_; }  // 101, or the refused upgrade's status
  const std::string& error() const { return error_; }

  // Sends a text message; false if the stream is gone.
  bool send(std::string text) {
    if (!ok_) {
      return false;
    }
    std::promise<bool> sent;
    auto fut = sent.get_future();
    boost::asio::post(ioc_, [this, &sent, text = std::move(text)] {
      boost::system::error_code ec;
      ws_.text(true);
      ws_.write(boost::asio::buffer(text), ec);
      sent.set_value(!ec);
    });
    return fut.wait_for(std::chrono::seconds(10)) == std::future_status::ready && fut.get();
  }

  // The next message, or nullopt after `timeout` or once the stream is closed.
  std::optional<std::string> next(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return !inbox_.empty() || closed_; });
    if (inbox_.empty()) {
      return std::nullopt;
    }
    std::string m = std::move(inbox_.front());
    inbox_.pop_front();
    return m;
  }

  // The next message of this type (others are skipped), as JSON.
  std::optional<boost::json::object> next_of(
      const std::string& type, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return std::nullopt;
      }
      auto m = next(left);
      if (!m) {
        return std::nullopt;
      }
      auto v = boost::json::parse(*m).as_object();
      if (v.at("type").as_string() == type) {
        return v;
      }
    }
  }

  // A stalled client starts reading (and so learns what became of its stream).
  void resume() {
    boost::asio::post(ioc_, [this] { read(); });
  }

  // True once the server closed the stream (or it failed).
  bool closed(std::chrono::milliseconds wait = std::chrono::milliseconds(0)) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [this] { return closed_; });
    return closed_;
  }

  // Closes the TCP connection without a closing handshake (a dropped network).
  void close() {
    if (thread_.joinable()) {
      boost::asio::post(ioc_, [this] {
        boost::system::error_code ignored;
        boost::beast::get_lowest_layer(ws_).socket().close(ignored);
      });
      work_.reset();
      thread_.join();
    }
  }

 private:
  void read() {
    ws_.async_read(buffer_, [this](boost::system::error_code ec, std::size_t) {
      std::lock_guard lock(mu_);
      if (ec) {
        closed_ = true;
        cv_.notify_all();
        return;
      }
      std::string text = boost::beast::buffers_to_string(buffer_.data());
      buffer_.consume(buffer_.size());
      if (options_.on_message) {
        options_.on_message(text);
      } else {
        inbox_.push_back(std::move(text));
        cv_.notify_all();
      }
      read();
    });
  }

  Options options_;
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::websocket::response_type response_;
  boost::beast::flat_buffer buffer_;
  std::thread thread_;
  bool ok_ = false;
  int status_ = 0;
  std::string error_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> inbox_;  // GUARDED_BY(mu_)
  bool closed_ = false;            // GUARDED_BY(mu_)
};

}  // namespace baton::testing
