#pragma once

// One webhook POST, asynchronous on the sender's io_context: the name resolved on a
// thread of its own (a slow DNS server holds only this delivery), each resolved address
// checked against the AddressPolicy before connecting to it (the address connected to is
// the address checked, so DNS cannot swap in another), TLS with the peer's certificate and
// host name verified by OpenSSL for https://, and every step within one time-out.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "baton/base/types.h"

#include "webhook_url.h"

namespace baton::api {

struct PostOutcome {
  std::optional<int> status;  // the receiver's HTTP status, when it answered
  std::string error;          // empty: a 2xx
};

class WebhookClient {
 public:
  // `ca_file`: PEM certificates trusted for https:// besides the system's; empty: the
  // system's alone.
  WebhookClient(boost::asio::io_context& ioc, AddressPolicy policy, const std::string& ca_file);
  ~WebhookClient();
  WebhookClient(const WebhookClient&) = delete;
  WebhookClient& operator=(const WebhookClient&) = delete;

  // Empty when the client is ready; else why the CA file could not be used.
  const std::string& error() const;

  // POSTs `body` to `url`; `done` runs on the io_context's thread exactly once.
  void post(const std::string& url, std::vector<std::pair<std::string, std::string>> headers,
            std::string body, Duration timeout, std::function<void(PostOutcome)> done);

  struct Impl;  // public for the delivery in flight, which lives in the .cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace baton::api
