// How a connection's bytes become HTTP requests, within the limits.

#include "request_reader.h"

#include <boost/beast/http/error.hpp>

namespace baton::api {

namespace beast = boost::beast;
namespace http = beast::http;

RequestReader::Step RequestReader::take(beast::flat_buffer& buffer) {
  while (true) {
    if (buffer.size() == 0 && !parser_) {
      return Step::NeedMore;
    }
    if (!parser_) {
      parser_.emplace();
      parser_->header_limit(static_cast<std::uint32_t>(limits_.header_bytes));
      parser_->body_limit(limits_.body_bytes);
      // The header alone first, so its bytes are counted whole (below); then the body.
      parser_->eager(false);
      request_bytes_ = 0;
    }
    bool had_header = parser_->is_header_done();
    beast::error_code ec;
    std::size_t used = parser_->put(buffer.data(), ec);
    buffer.consume(used);
    request_bytes_ += used;
    if (!had_header && parser_->is_header_done()) {
      // Beast counts header_limit per parse, and takes whole header lines as they come:
      // the request's own count of header bytes is the limit.
      if (request_bytes_ > limits_.header_bytes) {
        error_ = http::error::header_limit;
        return Step::Error;
      }
      parser_->eager(true);  // the body, as far as it has come
    }
    if (ec == http::error::need_more || (!ec && used == 0 && !parser_->is_done())) {
      // The parser waits for more of this request: all that is buffered belongs to it.
      if (auto over = over_limits(buffer.size())) {
        error_ = *over;
        return Step::Error;
      }
      return Step::NeedMore;
    }
    if (ec) {
      error_ = ec;
      return Step::Error;
    }
    if (parser_->is_done()) {
      return Step::Request;
    }
    if (used == 0) {
      return Step::NeedMore;
    }
  }
}

http::request<http::string_body> RequestReader::release() {
  auto req = parser_->release();
  parser_.reset();
  return req;
}

std::optional<beast::error_code> RequestReader::over_limits(std::size_t buffered) const {
  std::size_t seen = request_bytes_ + buffered;
  if (!parser_->is_header_done()) {
    return seen > limits_.header_bytes ? std::optional(beast::error_code(http::error::header_limit))
                                       : std::nullopt;
  }
  return seen > 2 * limits_.header_bytes + limits_.body_bytes
             ? std::optional(beast::error_code(http::error::body_limit))
             : std::nullopt;
}

}  // namespace baton::api
