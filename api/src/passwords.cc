#include "passwords.h"

#include <cstdlib>
#include <mutex>

#include <sodium.h>

namespace baton::api {

namespace {

void init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) {
      std::abort();  // no randomness for salts
    }
  });
}

// Characters, not bytes: a password of 12 Hangul syllables is 12 characters.
std::size_t utf8_length(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    n += (c & 0xC0) != 0x80 ? 1 : 0;
  }
  return n;
}

}  // namespace

std::optional<std::string> password_problem(const std::string& password) {
  std::size_t n = utf8_length(password);
  if (n < 12 || n > 256) {
    return "must be 12–256 characters";
  }
  return std::nullopt;
}

std::string hash_password(const std::string& password, PasswordCost cost) {
  init_once();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), cost.ops, cost.memory_bytes,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return {};
  }
  return out;
}

bool check_password(const std::string& hash, const std::string& password) {
  init_once();
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

void check_nothing(const std::string& password, PasswordCost cost) {
  (void)hash_password(password, cost);
}

}  // namespace baton::api
