#pragma once

// The process's open-files limit against the connections it is configured to hold.

#include <cstddef>

#include "baton/base/result.h"

namespace baton::api {

// Raises the soft open-files limit to the hard one, then checks that `max_connections`
// plus `reserved` descriptors (the database, the journal, webhooks, logs) fit under it.
// Returns the limit in force, or an error naming the keys to change.
Result<std::size_t> fit_open_files(std::size_t max_connections, std::size_t reserved);

}  // namespace baton::api
