#pragma once

// Agents' passwords: Argon2id (libsodium's crypto_pwhash_str), each hash with its own
// salt and parameters in its string. Hashing and checking take tens of milliseconds and
// tens of megabytes on purpose: they run on a worker, never an io thread.

#include <cstddef>
#include <optional>
#include <string>

namespace baton::api {

struct PasswordCost {
  unsigned long long ops = 2;           // crypto_pwhash_OPSLIMIT_INTERACTIVE
  std::size_t memory_bytes = 64 << 20;  // crypto_pwhash_MEMLIMIT_INTERACTIVE
};

// nullopt when the password is acceptable, else why not (12–256 characters).
std::optional<std::string> password_problem(const std::string& password);

// The Argon2id string of `password`; empty when the hash could not be made (no memory).
std::string hash_password(const std::string& password, PasswordCost cost);

// Whether `password` matches `hash` (constant time in the password).
bool check_password(const std::string& hash, const std::string& password);

// A check as costly as a real one, for an agent with no password or no such agent: a
// wrong id answers as slowly as a wrong password.
void check_nothing(const std::string& password, PasswordCost cost);

}  // namespace baton::api
