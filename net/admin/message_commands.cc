// The management API's publish and get (README.md): a message published through shard 0's
// broker as a channel would route it, and basic.gets sent to the queue's home shard as a
// channel's are, the messages then settled as the ack mode says.
#include <optional>

#include "core/access/base64.h"
#include "core/json/field_table_json.h"
#include "core/wire/field_table.h"
#include "core/wire/wire_writer.h"
#include "net/admin/endpoint.h"
#include "net/admin/endpoint_client.h"
#include "net/amqp/methods.h"

namespace lepus::admin {

namespace {

using nlohmann::json;

// A string property of the management API's `properties` object.
std::optional<std::string> text_property(const json& properties, const char* name) {
    auto it = properties.find(name);
    if (it == properties.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) throw std::invalid_argument(std::string(name) + " must be a string");
    return it->get<std::string>();
}

std::optional<u64> number_property(const json& properties, const char* name, u64 max) {
    auto it = properties.find(name);
    if (it == properties.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_unsigned() || it->get<u64>() > max) {
        throw std::invalid_argument(std::string(name) + " must be an integer from 0 to " +
                                    std::to_string(max));
    }
    return it->get<u64>();
}

// The content header of a published message: its properties from `properties`, as the
// management API names them. Throws std::invalid_argument with the reason.
std::string content_header(const json& properties, u64 body_size, std::string& headers_table) {
    amqp::ContentHeader header;
    header.body_size = body_size;
    amqp::BasicProperties& p = header.properties;
    // The strings must outlive the encoding: keep them here.
    std::vector<std::string> kept;
    kept.reserve(16);
    auto text = [&](const char* name, auto setter) {
        if (auto value = text_property(properties, name)) {
            kept.push_back(std::move(*value));
            (p.*setter)(kept.back());
        }
    };
    text("content_type", &amqp::BasicProperties::set_content_type);
    text("content_encoding", &amqp::BasicProperties::set_content_encoding);
    text("correlation_id", &amqp::BasicProperties::set_correlation_id);
    text("reply_to", &amqp::BasicProperties::set_reply_to);
    text("expiration", &amqp::BasicProperties::set_expiration);
    text("message_id", &amqp::BasicProperties::set_message_id);
    text("type", &amqp::BasicProperties::set_type);
    text("user_id", &amqp::BasicProperties::set_user_id);
    text("app_id", &amqp::BasicProperties::set_app_id);
    text("cluster_id", &amqp::BasicProperties::set_cluster_id);
    if (auto mode = number_property(properties, "delivery_mode", 2)) {
        p.set_delivery_mode(static_cast<u8>(*mode));
    }
    if (auto priority = number_property(properties, "priority", 255)) {
        p.set_priority(static_cast<u8>(*priority));
    }
    if (auto timestamp = number_property(properties, "timestamp", UINT64_MAX)) {
        p.set_timestamp(*timestamp);
    }
    if (auto it = properties.find("headers"); it != properties.end() && !it->is_null()) {
        wire::FieldTable table;
        std::string error;
        if (!lepus::json::table_from_json(*it, table, error)) throw std::invalid_argument(error);
        headers_table = wire::field_table_content(table);
        p.set_headers(headers_table);
    }
    std::string payload;
    wire::WireWriter writer(payload);
    amqp::encode_content_header(header, writer);
    return payload;
}

bool valid_utf8(std::string_view text) {
    usize i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        usize extra = 0;
        if (c < 0x80) {
            extra = 0;
        } else if ((c >> 5) == 6) {
            extra = 1;
        } else if ((c >> 4) == 14) {
            extra = 2;
        } else if ((c >> 3) == 30) {
            extra = 3;
        } else {
            return false;
        }
        if (i + extra >= text.size() && extra > 0) return false;
        for (usize k = 1; k <= extra; k++) {
            if ((static_cast<unsigned char>(text[i + k]) >> 6) != 2) return false;
        }
        i += extra + 1;
    }
    return true;
}

json properties_json(const Message& message) {
    json out = json::object();
    amqp::ContentHeader header;
    if (!amqp::decode_content_header(message.header_payload(), header)) return out;
    const amqp::BasicProperties& p = header.properties;
    using P = amqp::BasicProperty;
    auto text = [&](P property, const char* name, std::string_view value) {
        if (p.has(property)) out[name] = std::string(value);
    };
    text(P::content_type, "content_type", p.content_type);
    text(P::content_encoding, "content_encoding", p.content_encoding);
    if (p.has(P::headers)) out["headers"] = lepus::json::table_content_to_json(p.headers);
    if (p.has(P::delivery_mode)) out["delivery_mode"] = p.delivery_mode;
    if (p.has(P::priority)) out["priority"] = p.priority;
    text(P::correlation_id, "correlation_id", p.correlation_id);
    text(P::reply_to, "reply_to", p.reply_to);
    text(P::expiration, "expiration", p.expiration);
    text(P::message_id, "message_id", p.message_id);
    if (p.has(P::timestamp)) out["timestamp"] = p.timestamp;
    text(P::type, "type", p.type);
    text(P::user_id, "user_id", p.user_id);
    text(P::app_id, "app_id", p.app_id);
    text(P::cluster_id, "cluster_id", p.cluster_id);
    return out;
}

}  // namespace

void Endpoint::publish(Client& client, const json& request) {
    const std::string vhost = request.at("vhost").get<std::string>();
    const std::string exchange_name = request.at("exchange").get<std::string>();
    const core::VHost* entry = catalog_.find_vhost(vhost);
    if (entry == nullptr || entry->deleted) {
        fail(client, "no_such_vhost", "Virtual host '" + vhost + "' does not exist");
        return;
    }
    auto found = entry->exchanges.find(exchange_name);
    if (found == entry->exchanges.end()) {
        fail(client, "not_found", "no exchange '" + exchange_name + "' in vhost '" + vhost + "'");
        return;
    }
    std::string body = request.value("payload", std::string());
    const std::string encoding = request.value("payload_encoding", std::string("string"));
    if (encoding == "base64") {
        std::optional<std::vector<u8>> decoded = access::base64_decode(body);
        if (!decoded) {
            fail(client, "invalid_argument", "payload is not valid base64");
            return;
        }
        body.assign(decoded->begin(), decoded->end());
    } else if (encoding != "string") {
        fail(client, "invalid_argument", "payload_encoding must be string or base64");
        return;
    }
    std::string headers_table;
    std::string header;
    try {
        header =
            content_header(request.value("properties", json::object()), body.size(), headers_table);
    } catch (const std::invalid_argument& e) {
        fail(client, "invalid_argument", e.what());
        return;
    }
    amqp::ContentHeader decoded;
    amqp::decode_content_header(header, decoded);
    const amqp::BasicProperties& p = decoded.properties;
    auto* message =
        new Message(Message::Routing{exchange_name, request.value("routing_key", std::string())},
                    copy_into_chunk(header), body.size(),
                    p.has(amqp::BasicProperty::delivery_mode) ? p.delivery_mode : u8{1},
                    p.has(amqp::BasicProperty::priority) ? p.priority : u8{0});
    if (!body.empty()) message->append_body(copy_into_chunk(body));
    MessageRef ref = MessageRef::adopt(message);
    u32 routed = broker_.publish(*entry, found->second, ref, ref->headers());
    found->second.published_in++;
    if (routed > 0) found->second.published_out++;
    client.answer["routed"] = routed > 0;
    finish_if_done(client);
}

void Endpoint::get(Client& client, const json& request) {
    const std::string vhost = request.at("vhost").get<std::string>();
    const std::string queue = request.at("queue").get<std::string>();
    const core::QueueInfo* info = catalog_.find_queue(vhost, queue);
    if (info == nullptr) {
        fail(client, "not_found", "no queue '" + queue + "' in vhost '" + vhost + "'");
        return;
    }
    Client::Getting& getting = client.getting;
    getting.queue = info->id;
    getting.home = info->home;
    const i64 count = request.value("count", i64{1});
    if (count < 1) {
        fail(client, "invalid_argument", "count must be a positive integer");
        return;
    }
    getting.left = static_cast<u32>(std::min<i64>(count, 100'000));
    const std::string ackmode = request.value("ackmode", std::string("ack_requeue_true"));
    if (ackmode == "ack_requeue_true" || ackmode == "reject_requeue_true") {
        getting.settle = core::SettleKind::requeue;
    } else if (ackmode == "reject_requeue_false") {
        getting.settle = core::SettleKind::drop;
    } else if (ackmode == "ack_requeue_false") {
        getting.no_ack = true;
    } else {
        fail(client, "invalid_argument", "Unknown ackmode: " + ackmode);
        return;
    }
    const std::string encoding = request.value("encoding", std::string("auto"));
    if (encoding != "auto" && encoding != "base64") {
        fail(client, "invalid_argument", "Unknown encoding: " + encoding);
        return;
    }
    getting.auto_encoding = encoding == "auto";
    getting.base64 = encoding == "base64";
    getting.truncate = request.value("truncate", i64{-1});
    client.answer["messages"] = json::array();
    ask_next_get(client);
}

void Endpoint::ask_next_get(Client& client) {
    auto get = std::make_unique<core::GetRequest>();
    get->channel = core::ChannelKey{
        core::ConnectionKey{ShardId(0), core::admin_connection_slot, client.id}, 0, 0};
    get->queue = client.getting.queue;
    get->no_ack = client.getting.no_ack;
    client.awaiting++;
    outbox_.send(client.getting.home, std::move(get));
}

void Endpoint::take_get_reply(Client& client, core::GetReply& reply) {
    LEPUS_ASSERT(client.awaiting > 0);
    client.awaiting--;
    Client::Getting& getting = client.getting;
    if (reply.code != amqp::ReplyCode::reply_success) {
        fail(client, "not_found", reply.text);
        return;
    }
    if (reply.message) {
        const Message& message = *reply.message;
        std::string body;
        body.reserve(message.body_size());
        for (const ChunkSlice& slice : message.body()) body.append(slice.view());
        const u64 payload_bytes = body.size();
        if (getting.truncate >= 0 && body.size() > static_cast<u64>(getting.truncate)) {
            body.resize(static_cast<usize>(getting.truncate));
        }
        const bool as_base64 = getting.base64 || (getting.auto_encoding && !valid_utf8(body));
        json item{{"payload_bytes", payload_bytes},       {"redelivered", reply.redelivered},
                  {"exchange", message.exchange()},       {"routing_key", message.routing_key()},
                  {"message_count", reply.message_count}, {"properties", properties_json(message)}};
        if (as_base64) {
            item["payload"] = access::base64_encode(
                std::span<const u8>(reinterpret_cast<const u8*>(body.data()), body.size()));
            item["payload_encoding"] = "base64";
        } else {
            item["payload"] = std::move(body);
            item["payload_encoding"] = "string";
        }
        client.answer["messages"].push_back(std::move(item));
        if (!getting.no_ack) getting.taken.push_back(reply.sequence);
        getting.home = reply.home;
        if (--getting.left > 0) {
            ask_next_get(client);
            return;
        }
    }
    // Every message asked for, or the queue is empty: settle what was taken, then answer.
    if (getting.settle) {
        for (u64 sequence : getting.taken) {
            outbox_.send(getting.home,
                         core::Settle{getting.queue, sequence, *getting.settle, {}, false});
        }
    }
    getting.taken.clear();
    finish_if_done(client);
}

}  // namespace lepus::admin
