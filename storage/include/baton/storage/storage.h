#pragma once

// storage/: the SQLite implementation of the engine's ports (journal with group commit,
// recovery, history queries). This is its seed: the library link and version report.

#include <string>

namespace baton::storage {

// The SQLite library this binary runs on, e.g. "3.40.1".
std::string sqlite_version();

}  // namespace baton::storage
