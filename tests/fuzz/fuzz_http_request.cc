// libFuzzer: a connection's raw bytes through the server's parsing path (RequestReader,
// Beast's parser under Baton's limits), delivered in reads of varying sizes as a network
// would. Any input: requests within the limits, or a refusal, never a crash or a hang.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "baton/base/assert.h"

#include "request_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  // Small limits, so that inputs of fuzzing size reach them.
  baton::api::Limits limits;
  limits.header_bytes = 1024;
  limits.body_bytes = 2048;
  baton::api::RequestReader reader(limits);
  boost::beast::flat_buffer buffer;
  // The first byte sets the size of each read: 1 to 256 bytes.
  std::size_t read_size = static_cast<std::size_t>(data[0]) + 1;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  while (!rest.empty()) {
    auto n = std::min(read_size, rest.size());
    auto into = buffer.prepare(n);
    boost::asio::buffer_copy(into, boost::asio::buffer(rest.data(), n));
    buffer.commit(n);
    rest.remove_prefix(n);
    bool more = true;
    while (more) {
      switch (reader.take(buffer)) {
        case baton::api::RequestReader::Step::NeedMore:
          more = false;
          break;
        case baton::api::RequestReader::Step::Error:
          return 0;  // the connection is answered 4xx and closed
        case baton::api::RequestReader::Step::Request: {
          auto req = reader.release();
          BATON_CHECK(req.body().size() <= limits.body_bytes, "a body within body_bytes");
          break;
        }
      }
    }
    BATON_CHECK(buffer.size() <= limits.body_bytes + 2 * limits.header_bytes + read_size,
                "what is buffered stays bounded");
  }
  return 0;
}
