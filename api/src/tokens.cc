#include "baton/api/tokens.h"

#include <array>
#include <cstdlib>

#include <openssl/evp.h>
#include <openssl/rand.h>

namespace baton::api {

namespace {

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}

}  // namespace

std::string new_token() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    std::abort();  // no randomness: a token would be guessable
  }
  return "btn_" + hex(bytes.data(), bytes.size());
}

std::string sha256_hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), md.data(), &len, EVP_sha256(), nullptr) != 1) {
    std::abort();
  }
  return hex(md.data(), len);
}

bool is_role(std::string_view role) {
  return role == "gateway" || role == "agent" || role == "supervisor" || role == "admin";
}

}  // namespace baton::api
