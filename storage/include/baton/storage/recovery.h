#pragma once

#include <string>

#include "baton/base/result.h"
#include "baton/engine/snapshot.h"

namespace baton::storage {

// Reads what a workspace still has in play (agents, accounts, customers, open and
// resolved cases, their pending offers, open handoffs, the largest ids) for
// Engine::restore(). The database must be at the latest schema.
Result<engine::Snapshot> load_snapshot(const std::string& path, const std::string& workspace);

}  // namespace baton::storage
