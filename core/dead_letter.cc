#include "core/dead_letter.h"

#include <algorithm>
#include <cstring>

#include "core/base/assert.h"
#include "core/content_header.h"

namespace lepus::core {

namespace {

using wire::FieldArray;
using wire::FieldTable;
using wire::FieldValue;

bool is_string(const FieldValue* value, std::string_view expected) {
    return value != nullptr && value->type == 'S' && *value->as_string() == expected;
}

// The value of `key` in an x-death entry compared whatever its type, as RabbitMQ matches
// entries by queue and reason.
bool entry_value_is(const FieldTable& entry, std::string_view key, std::string_view expected) {
    const FieldValue* value = wire::find_field(entry, key);
    if (value == nullptr) return false;
    std::optional<std::string_view> text = value->as_string();
    return text && *text == expected;
}

// rabbit_misc:sort_field_table: a stable sort by key, bytewise.
void sort_table(FieldTable& table) {
    std::stable_sort(table.begin(), table.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
}

// rabbit_misc:set_table_value: replace the first entry with `key` or append one, then sort.
void set_table_value(FieldTable& table, std::string_view key, FieldValue value) {
    auto it = std::find_if(table.begin(), table.end(),
                           [&](const auto& entry) { return entry.first == key; });
    if (it != table.end()) {
        it->second = std::move(value);
    } else {
        table.emplace_back(std::string(key), std::move(value));
    }
    sort_table(table);
}

void increment_count(FieldTable& entry) {
    auto it =
        std::find_if(entry.begin(), entry.end(), [](const auto& e) { return e.first == "count"; });
    if (it == entry.end()) {
        entry.insert(entry.begin(), {"count", FieldValue::int64(1)});
        return;
    }
    std::optional<i64> count = it->second.as_integer();
    it->second = FieldValue::int64(count ? *count + 1 : 1);
}

// update_x_death_header of RabbitMQ's rabbit_dead_letter.
void update_x_death(FieldTable& headers, FieldTable info, std::string_view queue,
                    std::string_view reason, std::string_view exchange) {
    const FieldValue* existing = wire::find_field(headers, "x-death");
    if (existing == nullptr) {
        set_table_value(headers, "x-first-death-reason", FieldValue::string(std::string(reason)));
        set_table_value(headers, "x-first-death-queue", FieldValue::string(std::string(queue)));
        set_table_value(headers, "x-first-death-exchange",
                        FieldValue::string(std::string(exchange)));
        info.insert(info.begin(), {"count", FieldValue::int64(1)});
        set_table_value(headers, "x-death",
                        FieldValue::array({FieldValue::table(std::move(info))}));
        return;
    }
    if (existing->type != 'A') {
        // Some client republished the message with x-death turned into another type; RabbitMQ
        // starts the history again.
        info.insert(info.begin(), {"count", FieldValue::int64(1)});
        set_table_value(headers, "x-death",
                        FieldValue::array({FieldValue::table(std::move(info))}));
        return;
    }
    const FieldArray& old_deaths = std::get<FieldArray>(existing->value);
    FieldArray deaths;
    deaths.reserve(old_deaths.size() + 1);
    std::optional<FieldTable> match;
    for (const FieldValue& death : old_deaths) {
        const FieldTable* entry = std::get_if<FieldTable>(&death.value);
        bool same = death.type == 'F' && entry_value_is(*entry, "queue", queue) &&
                    entry_value_is(*entry, "reason", reason);
        if (!same) {
            deaths.push_back(death);
        } else if (!match) {
            match = *entry;  // later duplicates (pre-3.5 histories) fold into the first
        }
    }
    FieldTable front;
    if (match) {
        front = std::move(*match);
        increment_count(front);
    } else {
        front = std::move(info);
        front.insert(front.begin(), {"count", FieldValue::int64(1)});
    }
    sort_table(front);
    deaths.insert(deaths.begin(), FieldValue::table(std::move(front)));
    set_table_value(headers, "x-death", FieldValue::array(std::move(deaths)));
}

}  // namespace

std::string_view to_string(DeathReason reason) {
    switch (reason) {
        case DeathReason::rejected: return "rejected";
        case DeathReason::expired: return "expired";
        case DeathReason::maxlen: return "maxlen";
    }
    LEPUS_UNREACHABLE();
}

MessageRef make_dead_letter(const Message& original, const Death& death, FieldArray& deaths) {
    FieldTable headers;
    if (!original.headers().empty() && !wire::decode_field_table(original.headers(), headers)) {
        headers.clear();  // validated by the channel; unreachable outside tests
    }
    std::string_view reason = to_string(death.reason);
    FieldTable info;
    info.emplace_back("reason", FieldValue::string(std::string(reason)));
    info.emplace_back("queue", FieldValue::string(std::string(death.queue)));
    info.emplace_back("time", FieldValue::timestamp(death.time_s));
    info.emplace_back("exchange", FieldValue::string(original.exchange()));
    info.emplace_back("routing-keys",
                      FieldValue::array({FieldValue::string(original.routing_key())}));
    if (original.has_expiration()) {
        info.emplace_back("original-expiration",
                          FieldValue::string(std::string(original.expiration())));
    }
    update_x_death(headers, std::move(info), death.queue, reason, original.exchange());

    std::string routing_key = original.routing_key();
    if (death.dead_letter_routing_key != nullptr && death.dead_letter_routing_key->has_value()) {
        routing_key = **death.dead_letter_routing_key;
        // The CC routes belonged to the original routing; RabbitMQ drops them with it.
        std::erase_if(headers, [](const auto& entry) { return entry.first == "CC"; });
    }
    const FieldValue* x_death = wire::find_field(headers, "x-death");
    LEPUS_ASSERT(x_death != nullptr && x_death->type == 'A');
    deaths = std::get<FieldArray>(x_death->value);

    ContentHeaderLayout layout;
    if (!read_content_header_layout(original.header_payload(), layout)) {
        layout = ContentHeaderLayout{};  // validated by the channel; unreachable outside tests
    }
    std::string payload = rewrite_content_header(original.header_payload(), layout,
                                                 wire::field_table_content(headers));
    auto* message = new Message(
        Message::Routing{std::string(death.dead_letter_exchange), std::move(routing_key)},
        copy_into_chunk(payload), original.body_size(), original.delivery_mode(),
        original.priority());
    for (const ChunkSlice& slice : original.body()) message->append_body(slice);
    return MessageRef::adopt(message);
}

bool is_dead_letter_cycle(DeathReason reason, const FieldArray& deaths, std::string_view queue) {
    if (reason == DeathReason::rejected) return false;
    for (const FieldValue& death : deaths) {
        const FieldTable* entry = std::get_if<FieldTable>(&death.value);
        // Something a client put there: the cycle is not fully automatic.
        if (death.type != 'F' || entry == nullptr) return false;
        if (is_string(wire::find_field(*entry, "reason"), "rejected")) return false;
        if (is_string(wire::find_field(*entry, "queue"), queue)) return true;
    }
    return false;
}

}  // namespace lepus::core
