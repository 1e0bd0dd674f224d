#include "core/routing/bindings.h"

#include <algorithm>
#include <utility>

#include "core/base/assert.h"

namespace lepus::routing {
namespace {

bool decode_arguments(std::string_view arguments, wire::FieldTable& out) {
    out.clear();
    return arguments.empty() || wire::decode_field_table(arguments, out);
}

}  // namespace

Bindings::Bindings(ExchangeType type) : type_(type) {}

Bindings::~Bindings() = default;

BindResult Bindings::add(const Destination& destination, std::string_view routing_key,
                         std::string_view arguments, std::string* error) {
    wire::FieldTable decoded;
    if (!decode_arguments(arguments, decoded)) {
        if (error != nullptr) *error = "malformed binding arguments table";
        return BindResult::invalid_arguments;
    }
    // Validation comes before the duplicate check, as in RabbitMQ: an invalid binding is an
    // error even if an equivalent valid one could never exist.
    std::optional<HeadersMatcher> matcher;
    if (type_ == ExchangeType::headers) {
        matcher = HeadersMatcher::parse(decoded, error);
        if (!matcher) return BindResult::invalid_arguments;
    }
    if (type_ == ExchangeType::topic) LEPUS_ASSERT(routing_key.size() <= topic_pattern_size_max);

    auto [it, inserted] = destinations_.try_emplace(destination);
    DestinationState& state = it->second;
    if (inserted) {
        state.destination = &it->first;
        if (type_ == ExchangeType::fanout) {
            state.fanout_slot = fanout_.size();
            fanout_.push_back(state.destination);
        }
    } else if (find(state, routing_key, arguments, decoded) != nullptr) {
        return BindResult::already_bound;
    }

    auto binding = std::make_unique<Binding>();
    binding->owner = &state;
    binding->arguments = std::string(arguments);
    binding->decoded = std::move(decoded);
    if (matcher) {
        binding->headers_slot = headers_.size();
        headers_.push_back({headers_dictionary_.compile(*matcher), &state, binding.get()});
    }

    auto key = state.by_key.find(routing_key);
    if (key == state.by_key.end()) {
        key = state.by_key.emplace(std::string(routing_key), BindingList{}).first;
    }
    key->second.push_back(std::move(binding));
    if (key->second.size() == 1) index_key(state, routing_key);
    state.binding_count++;
    size_++;
    return BindResult::added;
}

bool Bindings::remove(const Destination& destination, std::string_view routing_key,
                      std::string_view arguments) {
    auto it = destinations_.find(destination);
    if (it == destinations_.end()) return false;
    wire::FieldTable decoded;
    if (!decode_arguments(arguments, decoded)) return false;
    DestinationState& state = it->second;
    Binding* binding = find(state, routing_key, arguments, decoded);
    if (binding == nullptr) return false;

    if (type_ == ExchangeType::headers) remove_headers_entry(*binding);
    auto key = state.by_key.find(routing_key);
    LEPUS_ASSERT(key != state.by_key.end());
    BindingList& list = key->second;
    auto position =
        std::find_if(list.begin(), list.end(), [&](const auto& b) { return b.get() == binding; });
    LEPUS_ASSERT(position != list.end());
    list.erase(position);
    if (list.empty()) {
        unindex_key(state, routing_key);
        state.by_key.erase(key);
    }
    state.binding_count--;
    size_--;
    release_destination_if_unused(state);
    return true;
}

usize Bindings::remove_destination(const Destination& destination) {
    auto it = destinations_.find(destination);
    if (it == destinations_.end()) return 0;
    DestinationState& state = it->second;
    const usize removed = state.binding_count;
    for (auto& [routing_key, list] : state.by_key) {
        if (type_ == ExchangeType::headers) {
            for (auto& binding : list) remove_headers_entry(*binding);
        }
        unindex_key(state, routing_key);
    }
    state.by_key.clear();
    state.binding_count = 0;
    LEPUS_ASSERT(size_ >= removed);
    size_ -= removed;
    release_destination_if_unused(state);
    return removed;
}

bool Bindings::contains(const Destination& destination, std::string_view routing_key,
                        std::string_view arguments) const {
    auto it = destinations_.find(destination);
    if (it == destinations_.end()) return false;
    wire::FieldTable decoded;
    if (!decode_arguments(arguments, decoded)) return false;
    return find(it->second, routing_key, arguments, decoded) != nullptr;
}

bool Bindings::has_destination(const Destination& destination) const {
    return destinations_.contains(destination);
}

void Bindings::route(std::string_view routing_key, std::string_view headers,
                     std::vector<const Destination*>& out) const {
    switch (type_) {
        case ExchangeType::direct: {
            auto it = direct_.find(routing_key);
            if (it != direct_.end()) out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
        case ExchangeType::fanout: out.insert(out.end(), fanout_.begin(), fanout_.end()); return;
        case ExchangeType::topic: topic_.route(routing_key, out); return;
        case ExchangeType::headers: {
            if (headers_.empty()) return;
            message_headers_.assign(headers);
            headers_dictionary_.load(message_headers_);
            const u32 epoch = next_route_epoch();
            for (const HeadersEntry& entry : headers_) {
                // Matching first: it reads only the entry and the dictionary, while the stamp
                // is a pointer away.
                if (!headers_dictionary_.matches(entry.matcher)) continue;
                if (entry.owner->route_stamp == epoch) continue;
                entry.owner->route_stamp = epoch;
                out.push_back(entry.owner->destination);
            }
            return;
        }
    }
    LEPUS_UNREACHABLE();
}

Bindings::Binding* Bindings::find(const DestinationState& state, std::string_view routing_key,
                                  std::string_view arguments,
                                  const wire::FieldTable& decoded) const {
    auto key = state.by_key.find(routing_key);
    if (key == state.by_key.end()) return nullptr;
    for (const auto& binding : key->second) {
        // Identical bytes are the common case (a client re-declaring the same binding).
        if (binding->arguments == arguments) return binding.get();
        if (wire::tables_equivalent(binding->decoded, decoded)) return binding.get();
    }
    return nullptr;
}

// Called when the destination gains its first binding with this routing key. Direct and topic
// index (key, destination) once, however many argument tables bind the pair, so a route never
// yields the destination twice for one key.
void Bindings::index_key(DestinationState& state, std::string_view routing_key) {
    if (type_ == ExchangeType::direct) {
        auto it = direct_.find(routing_key);
        if (it == direct_.end()) {
            it = direct_.emplace(std::string(routing_key), std::vector<const Destination*>{}).first;
        }
        it->second.push_back(state.destination);
    } else if (type_ == ExchangeType::topic) {
        bool added = topic_.add(routing_key, *state.destination);
        LEPUS_ASSERT(added);
    }
}

// Called when the destination loses its last binding with this routing key.
void Bindings::unindex_key(DestinationState& state, std::string_view routing_key) {
    if (type_ == ExchangeType::direct) {
        auto it = direct_.find(routing_key);
        LEPUS_ASSERT(it != direct_.end());
        auto& destinations = it->second;
        auto position = std::find(destinations.begin(), destinations.end(), state.destination);
        LEPUS_ASSERT(position != destinations.end());
        *position = destinations.back();
        destinations.pop_back();
        if (destinations.empty()) direct_.erase(it);
    } else if (type_ == ExchangeType::topic) {
        bool removed = topic_.remove(routing_key, *state.destination);
        LEPUS_ASSERT(removed);
    }
}

void Bindings::remove_headers_entry(Binding& binding) {
    const usize slot = binding.headers_slot;
    LEPUS_ASSERT(slot < headers_.size() && headers_[slot].binding == &binding);
    headers_dictionary_.release(headers_[slot].matcher);
    if (slot + 1 != headers_.size()) {
        headers_[slot] = std::move(headers_.back());
        headers_[slot].binding->headers_slot = slot;
    }
    headers_.pop_back();
}

void Bindings::release_destination_if_unused(DestinationState& state) {
    if (state.binding_count != 0) return;
    LEPUS_ASSERT(state.by_key.empty());
    if (type_ == ExchangeType::fanout) {
        const usize slot = state.fanout_slot;
        LEPUS_ASSERT(slot < fanout_.size() && fanout_[slot] == state.destination);
        if (slot + 1 != fanout_.size()) {
            fanout_[slot] = fanout_.back();
            destinations_.find(*fanout_[slot])->second.fanout_slot = slot;
        }
        fanout_.pop_back();
    }
    // Erase by iterator: the key we would pass lives in the node being destroyed.
    auto it = destinations_.find(*state.destination);
    LEPUS_ASSERT(it != destinations_.end() && &it->second == &state);
    destinations_.erase(it);
}

u32 Bindings::next_route_epoch() const {
    if (++route_epoch_ == 0) {
        // After 2^32 routes a stale stamp could equal the new epoch; clear them all once.
        for (const auto& [destination, state] : destinations_) state.route_stamp = 0;
        route_epoch_ = 1;
    }
    return route_epoch_;
}

}  // namespace lepus::routing
