#pragma once

// API tokens: a random secret shown once, stored as its SHA-256 only.

#include <string>
#include <string_view>

namespace baton::api {

// A new token: "btn_" and 32 random bytes in hex, from the OS's CSPRNG.
std::string new_token();
// Lower-case hex SHA-256 of `text`.
std::string sha256_hex(std::string_view text);
// The roles API.md names.
bool is_role(std::string_view role);

}  // namespace baton::api
