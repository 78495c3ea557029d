#pragma once

// How a connection's bytes become HTTP requests: Beast's parser held to Baton's limits.
// Socket-free, so the whole path from bytes to a request is tested and fuzzed in-process;
// server.cc's sessions feed it what they read.
//
// Limits, counted per request however its bytes arrive: its header bytes (Beast's
// header_limit counts one parse, and a client that trickles lines parses many) against
// header_bytes (431); its body against body_bytes (413); once the body is read, chunk
// framing and trailers, which body_limit does not count, against one more header_bytes.

#include <cstddef>
#include <optional>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "baton/api/server.h"

namespace baton::api {

class RequestReader {
 public:
  enum class Step {
    NeedMore,  // every byte given belongs to a request not yet whole: read more
    Request,   // a whole request: take it with release()
    Error,     // the connection's bytes are not a request within the limits: error()
  };

  explicit RequestReader(const Limits& limits) : limits_(limits) {}

  // Parses what `buffer` holds, consuming the bytes of at most one request.
  Step take(boost::beast::flat_buffer& buffer);
  // Whether a request has begun and is not yet whole.
  bool in_request() const { return parser_.has_value(); }
  // After Step::Request: the request; the reader is ready for the next one.
  boost::beast::http::request<boost::beast::http::string_body> release();
  // After Step::Error: why (http::error::header_limit, body_limit, or a parse error).
  boost::beast::error_code error() const { return error_; }

 private:
  std::optional<boost::beast::error_code> over_limits(std::size_t buffered) const;

  const Limits& limits_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::size_t request_bytes_ = 0;  // of the request in parser_, given to it so far
  boost::beast::error_code error_;
};

}  // namespace baton::api
