#pragma once

// A small blocking HTTP/1.1 client over a POSIX socket, for black-box tests and the load
// benchmark: keep-alive, Content-Length bodies, optional pipelining (send many, then read
// many). Deliberately independent of the server's HTTP code.

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace baton::testing {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class HttpClient {
 public:
  // "127.0.0.1:8080"
  explicit HttpClient(const std::string& address, int timeout_ms = 10'000)
      : timeout_ms_(timeout_ms) {
    auto colon = address.rfind(':');
    host_ = address.substr(0, colon);
    port_ = static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1)));
  }
  ~HttpClient() { close(); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Connects from this local address (e.g. "127.0.0.2": another client on loopback).
  void from(const std::string& source) { source_ = source; }

  bool connect() {
    close();
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (!source_.empty()) {
      sockaddr_in s{};
      s.sin_family = AF_INET;
      ::inet_pton(AF_INET, source_.c_str(), &s.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&s), sizeof s) != 0) {
        close();
        return false;
      }
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    ::inet_pton(AF_INET, host_.c_str(), &a.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close();
      return false;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    buf_.clear();
    return true;
  }

  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  bool connected() const { return fd_ >= 0; }

  static std::string format(const std::string& method, const std::string& target,
                            const std::string& body,
                            const std::vector<std::pair<std::string, std::string>>& headers) {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n";
    for (const auto& [k, v] : headers) {
      req += k + ": " + v + "\r\n";
    }
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    req += "\r\n" + body;
    return req;
  }

  // Sends raw bytes; false when the connection is gone.
  bool send_raw(const std::string& bytes) {
    if (fd_ < 0 && !connect()) {
      return false;
    }
    std::size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) {
          continue;
        }
        return false;
      }
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Reads one response; nullopt when the connection closed or timed out first.
  std::optional<HttpResponse> read_response() {
    HttpResponse r;
    std::size_t header_end;
    while ((header_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) {
        return std::nullopt;
      }
    }
    std::string head = buf_.substr(0, header_end);
    buf_.erase(0, header_end + 4);
    auto line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    r.status = std::stoi(status_line.substr(9, 3));
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      auto e = head.find("\r\n", pos);
      if (e == std::string::npos) {
        e = head.size();
      }
      std::string line = head.substr(pos, e - pos);
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (auto& ch : name) {
          ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        }
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') {
          value.erase(0, 1);
        }
        r.headers[name] = value;
      }
      pos = e + 2;
    }
    std::size_t len =
        r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    while (buf_.size() < len) {
      if (!fill()) {
        return std::nullopt;
      }
    }
    r.body = buf_.substr(0, len);
    buf_.erase(0, len);
    if (r.header("connection") == "close") {
      close();
    }
    return r;
  }

  std::optional<HttpResponse> request(
      const std::string& method, const std::string& target, const std::string& body = "",
      const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    if (!send_raw(format(method, target, body, headers))) {
      // The server may have closed an idle keep-alive connection: one fresh try.
      if (!connect() || !send_raw(format(method, target, body, headers))) {
        return std::nullopt;
      }
    }
    return read_response();
  }

  // True when the server has closed the connection (reads end of stream within `ms`).
  bool closed_by_peer(int ms) {
    if (fd_ < 0) {
      return true;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) {
      return false;
    }
    char c;
    return ::recv(fd_, &c, 1, MSG_PEEK) <= 0;
  }

 private:
  bool fill() {
    if (fd_ < 0) {
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms_) <= 0) {
      return false;
    }
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      close();
      return false;
    }
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  std::string host_;
  std::string source_;  // the local address to connect from; empty: any
  std::uint16_t port_ = 0;
  int fd_ = -1;
  int timeout_ms_;
  std::string buf_;
};

}  // namespace baton::testing
