// List cursors the server made, sealed with an HMAC.

#include "cursor.h"

#include <array>
#include <cstdint>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "baton/base/assert.h"

namespace baton::api {

namespace {

constexpr std::size_t kSealHex = 32;  // 128 bits of the HMAC, in hex

const std::array<unsigned char, 32>& process_key() {
  static const std::array<unsigned char, 32> key = [] {
    std::array<unsigned char, 32> k{};
    BATON_CHECK(RAND_bytes(k.data(), static_cast<int>(k.size())) == 1,
                "the OS's random source gives the cursor key");
    return k;
  }();
  return key;
}

std::string seal_of(std::string_view position) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const auto& key = process_key();
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(position.data()), position.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < kSealHex / 2; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xF];
  }
  return out;
}

}  // namespace

std::string seal_cursor(std::string_view position) {
  return std::string(position) + "~" + seal_of(position);
}

std::optional<std::string> open_cursor(std::string_view cursor) {
  auto tilde = cursor.rfind('~');
  if (tilde == std::string_view::npos || cursor.size() - tilde - 1 != kSealHex) {
    return std::nullopt;
  }
  std::string_view position = cursor.substr(0, tilde);
  std::string expected = seal_of(position);
  if (CRYPTO_memcmp(expected.data(), cursor.data() + tilde + 1, kSealHex) != 0) {
    return std::nullopt;
  }
  return std::string(position);
}

}  // namespace baton::api
