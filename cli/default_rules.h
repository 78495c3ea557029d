#pragma once

// The shipped config/routing.toml, built into the binary (cli/embed_rules.cmake): the
// rules a server starts on when its routing file is missing.

#include <string_view>

namespace baton::cli {

std::string_view default_rules();

}  // namespace baton::cli
