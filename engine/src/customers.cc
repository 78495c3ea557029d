// Accounts and customers: identities (one person across channels) and merges.

#include "baton/engine/identity.h"

#include "engine_internal.h"

namespace baton::engine {

using namespace internal;

std::string Engine::identity_key(const Identity& id) const {
  // Addresses are stored canonical; one stored before that (or no longer valid under a
  // changed default country) is its own key.
  auto canonical = normalize_address(id.channel, id.address, config_.default_country);
  return std::string(to_string(id.channel)) + ":" + (canonical ? *canonical : id.address);
}

Result<Account> Engine::create_account(NewAccount na) {
  BATON_RETURN_IF_ERROR(writable());
  if (na.name.empty()) {
    return invalid("name", "must not be empty");
  }
  if (na.sales_owner && agents_.count(*na.sales_owner) == 0) {
    return invalid("sales_owner", "unknown agent " + na.sales_owner->value());
  }
  begin();
  Account acc;
  acc.id = AccountId(next_account_++);
  acc.name = std::move(na.name);
  acc.tier = std::move(na.tier);
  acc.segment = std::move(na.segment);
  acc.sales_owner = na.sales_owner;
  acc.created_at = command_now();
  pending_.accounts.push_back(acc);
  accounts_.emplace(acc.id, acc);
  finish();
  return acc;
}

Result<Customer> Engine::create_customer(NewCustomer nc) {
  BATON_RETURN_IF_ERROR(writable());
  if (nc.account && accounts_.count(*nc.account) == 0) {
    return invalid("account_id", "unknown account");
  }
  for (std::size_t i = 0; i < nc.identities.size(); ++i) {
    auto& idn = nc.identities[i];
    std::string field = "identities[" + std::to_string(i) + "].address";
    auto canonical = normalize_address(idn.channel, idn.address, config_.default_country);
    if (!canonical) {
      return invalid(field, canonical.error().message);
    }
    idn.address = std::move(canonical).value();
    if (customer_by_identity_.count(identity_key(idn)) != 0) {
      return Error(ErrorCode::AlreadyExists, "identity already belongs to another customer",
                   {FieldError{field, "already belongs to another customer"}});
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (nc.identities[j].channel == idn.channel && nc.identities[j].address == idn.address) {
        return invalid(field, "is the same identity as identities[" + std::to_string(j) + "]");
      }
    }
  }
  begin();
  Customer c;
  c.id = CustomerId(next_customer_++);
  c.name = std::move(nc.name);
  c.account = nc.account;
  c.identities = std::move(nc.identities);
  c.created_at = command_now();
  for (const auto& idn : c.identities) {
    customer_by_identity_[identity_key(idn)] = c.id;
  }
  pending_.customers.push_back(c);
  customers_.emplace(c.id, c);
  finish();
  return c;
}

Result<Customer> Engine::merge_customers(CustomerId into, CustomerId from, std::string actor) {
  BATON_RETURN_IF_ERROR(writable());
  auto to_it = customers_.find(into);
  if (to_it == customers_.end()) {
    return not_found("customer " + std::to_string(into.value()));
  }
  auto from_it = customers_.find(from);
  if (from_it == customers_.end()) {
    return invalid("from", "unknown customer");
  }
  if (from == into) {
    return invalid("from", "a customer cannot be merged into itself");
  }
  if (to_it->second.merged_into) {
    return bad_state("customer " + std::to_string(into.value()) + " was merged into another");
  }
  if (from_it->second.merged_into) {
    return bad_state("customer " + std::to_string(from.value()) + " was already merged");
  }
  Customer& survivor = to_it->second;
  Customer& gone = from_it->second;
  begin();
  std::vector<std::pair<std::string, Value>> data{{"from", static_cast<double>(from.value())},
                                                  {"from_name", gone.name}};
  std::string moved_identities;
  for (Identity& idn : gone.identities) {
    customer_by_identity_[identity_key(idn)] = into;
    moved_identities += (moved_identities.empty() ? "" : ", ") +
                        std::string(to_string(idn.channel)) + ":" + idn.address;
    survivor.identities.push_back(std::move(idn));
  }
  gone.identities.clear();
  data.emplace_back("identities", moved_identities);
  if (!survivor.account && gone.account) {
    survivor.account = gone.account;
    data.emplace_back("account", static_cast<double>(gone.account->value()));
  }
  if (!survivor.last_agent) {
    survivor.last_agent = gone.last_agent;
  }
  gone.merged_into = into;
  for (auto& [id, c] : cases_) {
    if (c.customer == from) {
      c.customer = into;
      touch(c);
    }
  }
  pending_.customers.push_back(gone);
  pending_.customers.push_back(survivor);
  pending_.merges.push_back(CustomerMerge{from, into, command_now()});
  CaseEvent e;
  e.id = EventId(next_event_++);
  e.customer = into;
  e.type = EventType::CustomerMerged;
  e.at = command_now();
  e.actor = std::move(actor);
  e.data = std::move(data);
  pending_.events.push_back(std::move(e));
  finish();
  return customers_.at(into);
}

}  // namespace baton::engine
