#pragma once
// All bindings of one exchange, indexed for the exchange's type.
//
// A binding is (destination, routing key, arguments). Two bindings are the same when their
// destinations and routing keys are equal and their argument tables are equivalent: same entries
// in any order (wire::tables_equivalent), as RabbitMQ compares them after sorting. Each type
// keeps the index its routing needs:
//   direct   routing key -> distinct destinations, one hash lookup per route;
//   fanout   the distinct destinations, routing key ignored;
//   topic    a TopicTrie over the binding keys;
//   headers  one compiled HeadersMatcher per binding, routing key ignored.
// Direct and fanout routes never allocate when the output vector has room.
//
// Ownership: a Bindings belongs to its exchange and lives on the shard that owns that exchange.
// It is not safe to use from two threads: route() is const but stamps destinations to
// deduplicate and reuses scratch buffers.
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/base/types.h"
#include "core/routing/destination.h"
#include "core/routing/exchange_type.h"
#include "core/routing/headers_match.h"
#include "core/routing/topic_trie.h"
#include "core/wire/field_table.h"

namespace lepus::routing {

enum class BindResult : u8 { added, already_bound, invalid_arguments };

class Bindings {
public:
    explicit Bindings(ExchangeType type);
    ~Bindings();
    Bindings(const Bindings&) = delete;
    Bindings& operator=(const Bindings&) = delete;

    ExchangeType type() const { return type_; }

    // `arguments` is the raw content of the binding's arguments table (no length prefix). A
    // table that does not decode, or a headers binding with an invalid x-match, is rejected
    // with invalid_arguments and the reply text in *error (when error is not null); RabbitMQ
    // answers the latter with 406 PRECONDITION_FAILED. The routing key is a short string.
    BindResult add(const Destination& destination, std::string_view routing_key,
                   std::string_view arguments, std::string* error);
    // False if there is no such binding.
    bool remove(const Destination& destination, std::string_view routing_key,
                std::string_view arguments);
    // Removes every binding to the destination (a queue or exchange being deleted); returns
    // how many there were.
    usize remove_destination(const Destination& destination);

    bool contains(const Destination& destination, std::string_view routing_key,
                  std::string_view arguments) const;
    bool has_destination(const Destination& destination) const;
    bool empty() const { return size_ == 0; }
    usize size() const { return size_; }

    // Appends each matching destination once (entries already in `out` are not looked at).
    // `headers` is the raw table content of the message's headers property; an empty view
    // means no headers. The pointers stay valid until the next add, remove or
    // remove_destination on this Bindings.
    void route(std::string_view routing_key, std::string_view headers,
               std::vector<const Destination*>& out) const;

    // The comparisons headers binds and routes have made so far (HeadersDictionary::comparisons):
    // counted so that tests can check the bound on a route's work without a clock.
    u64 headers_comparisons() const { return headers_dictionary_.comparisons(); }

    // Calls f(const Destination&, std::string_view routing_key, std::string_view arguments)
    // for every binding, in no particular order; `arguments` are the bytes given to add(). f
    // must not modify this Bindings.
    template <typename F>
    void for_each(F&& f) const {
        for (const auto& [destination, state] : destinations_) {
            for (const auto& [routing_key, list] : state.by_key) {
                for (const auto& binding : list) {
                    f(destination, std::string_view(routing_key),
                      std::string_view(binding->arguments));
                }
            }
        }
    }

private:
    struct DestinationState;
    struct Binding {
        DestinationState* owner = nullptr;
        std::string arguments;     // as given to add(), for for_each
        wire::FieldTable decoded;  // for identity; compared with tables_equivalent
        usize headers_slot = 0;    // index in headers_, for headers exchanges
    };
    using BindingList = std::vector<std::unique_ptr<Binding>>;
    struct DestinationState {
        const Destination* destination = nullptr;  // the key of this entry in destinations_
        // Usually a handful of keys, each with one argument table.
        std::unordered_map<std::string, BindingList, StringHash, std::equal_to<>> by_key;
        usize binding_count = 0;
        usize fanout_slot = 0;  // index in fanout_, for fanout exchanges
        mutable u32 route_stamp = 0;
    };
    struct HeadersEntry {
        CompiledHeadersMatcher matcher;
        const DestinationState* owner;
        Binding* binding;
    };

    Binding* find(const DestinationState& state, std::string_view routing_key,
                  std::string_view arguments, const wire::FieldTable& decoded) const;
    void index_key(DestinationState& state, std::string_view routing_key);
    void unindex_key(DestinationState& state, std::string_view routing_key);
    void remove_headers_entry(Binding& binding);
    void release_destination_if_unused(DestinationState& state);
    u32 next_route_epoch() const;

    ExchangeType type_;
    std::unordered_map<Destination, DestinationState> destinations_;
    // Fanout routes copy this vector whole; a destination's fanout_slot is its index here.
    std::vector<const Destination*> fanout_;
    std::unordered_map<std::string, std::vector<const Destination*>, StringHash, std::equal_to<>>
        direct_;
    TopicTrie topic_;
    std::vector<HeadersEntry> headers_;
    usize size_ = 0;
    mutable u32 route_epoch_ = 0;
    // Route scratch: the message's headers, decoded, and the dictionary they are loaded into.
    mutable MessageHeaders message_headers_;
    mutable HeadersDictionary headers_dictionary_;
};

}  // namespace lepus::routing
