#include "decision_log.h"

namespace baton::api {

void DecisionLog::keep(engine::RoutingRecord&& r) {
  std::lock_guard lock(mu_);
  auto& list = cases_[r.case_id.value()];
  if (list.size() == kPerCase) {
    list.erase(list.begin());
  }
  list.push_back(std::move(r));
  while (cases_.size() > kCases) {
    cases_.erase(cases_.begin());  // case ids grow: the first is the oldest case
  }
}

DecisionLog::Page DecisionLog::page(engine::CaseId id, std::size_t from, std::size_t limit) const {
  Page out;
  std::lock_guard lock(mu_);
  auto it = cases_.find(id.value());
  if (it == cases_.end()) {
    return out;
  }
  const auto& list = it->second;
  for (std::size_t i = from; i < list.size(); ++i) {
    if (out.records.size() == limit) {
      out.next = i;
      break;
    }
    out.records.push_back(list[list.size() - 1 - i]);
  }
  return out;
}

}  // namespace baton::api
