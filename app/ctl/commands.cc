#include "app/ctl/commands.h"

#include <cstdio>
#include <string>
#include <string_view>

#include "app/ctl/client.h"
#include "app/ctl/status.h"
#include "core/base/limits.h"
#include "core/wire/field_table.h"
#include "net/amqp/methods.h"

namespace lepus::ctl {

namespace {

void print(std::string_view text) { std::fwrite(text.data(), 1, text.size(), stdout); }

std::string quoted(std::string_view name) { return "'" + std::string(name) + "'"; }

std::string value_text(const wire::FieldValue& value) {
    if (auto text = value.as_string()) return std::string(*text);
    return wire::to_string(value);
}

Status run_status(Client& client) {
    const ServerInfo& server = client.server();
    wire::FieldTable properties;
    if (!wire::decode_field_table(server.properties, properties)) {
        return Status::failed("the server's properties table is malformed");
    }
    std::string out;
    // The three an operator asks for first, then the rest in the server's order.
    for (std::string_view key : {"product", "version", "platform"}) {
        const wire::FieldValue* value = wire::find_field(properties, key);
        out += std::string(key) + ": " + (value ? value_text(*value) : "(not given)") + "\n";
    }
    for (const auto& [key, value] : properties) {
        if (key == "product" || key == "version" || key == "platform") continue;
        if (key != "capabilities" || value.type != 'F') {
            out += key + ": " + value_text(value) + "\n";
            continue;
        }
        std::string list;
        for (const auto& [name, flag] : std::get<wire::FieldTable>(value.value)) {
            if (!list.empty()) list += ", ";
            auto enabled = flag.as_bool();
            list += enabled && *enabled ? name : name + "=" + value_text(flag);
        }
        out += "capabilities: " + list + "\n";
    }
    out += "protocol: AMQP " + std::to_string(server.version_major) + "-" +
           std::to_string(server.version_minor) + "-1\n";
    out += "mechanisms: " + server.mechanisms + "\n";
    out += "locales: " + server.locales + "\n";
    out += "frame_max: " + std::to_string(server.frame_max) + "\n";
    out += "channel_max: " + std::to_string(server.channel_max) + "\n";
    out += "heartbeat: " + std::to_string(server.heartbeat) + "\n";
    print(out);
    return Status::success();
}

std::string queue_report(const amqp::QueueDeclareOk& ok) {
    return "queue: " + std::string(ok.queue) + "\nmessages: " + std::to_string(ok.message_count) +
           "\nconsumers: " + std::to_string(ok.consumer_count) + "\n";
}

Status run_declare_queue(Client& client, const CommandLine& line, bool passive) {
    std::string arguments = wire::field_table_content(line.arguments);
    amqp::QueueDeclare declare;
    declare.queue = line.operands[0];
    declare.passive = passive;
    declare.durable = line.durable;
    declare.exclusive = line.exclusive;
    declare.auto_delete = line.auto_delete;
    declare.arguments = arguments;
    amqp::QueueDeclareOk ok;
    Status status = client.call(declare, ok);
    if (status.ok()) print(queue_report(ok));
    return status;
}

Status run_delete_queue(Client& client, const CommandLine& line) {
    amqp::QueueDelete request;
    request.queue = line.operands[0];
    request.if_unused = line.if_unused;
    request.if_empty = line.if_empty;
    amqp::QueueDeleteOk ok;
    Status status = client.call(request, ok);
    if (status.ok()) {
        print("queue: " + line.operands[0] +
              "\nmessages_deleted: " + std::to_string(ok.message_count) + "\n");
    }
    return status;
}

Status run_purge_queue(Client& client, const CommandLine& line) {
    amqp::QueuePurge request;
    request.queue = line.operands[0];
    amqp::QueuePurgeOk ok;
    Status status = client.call(request, ok);
    if (status.ok()) {
        print("queue: " + line.operands[0] +
              "\nmessages_purged: " + std::to_string(ok.message_count) + "\n");
    }
    return status;
}

Status run_declare_exchange(Client& client, const CommandLine& line) {
    std::string arguments = wire::field_table_content(line.arguments);
    amqp::ExchangeDeclare declare;
    declare.exchange = line.operands[0];
    declare.type = line.operands[1];
    declare.durable = line.durable;
    declare.auto_delete = line.auto_delete;
    declare.internal = line.internal;
    declare.arguments = arguments;
    amqp::ExchangeDeclareOk ok;
    Status status = client.call(declare, ok);
    if (status.ok()) print("exchange " + quoted(line.operands[0]) + " declared\n");
    return status;
}

Status run_delete_exchange(Client& client, const CommandLine& line) {
    amqp::ExchangeDelete request;
    request.exchange = line.operands[0];
    request.if_unused = line.if_unused;
    amqp::ExchangeDeleteOk ok;
    Status status = client.call(request, ok);
    if (status.ok()) print("exchange " + quoted(line.operands[0]) + " deleted\n");
    return status;
}

Status run_bind_queue(Client& client, const CommandLine& line, bool bind) {
    std::string arguments = wire::field_table_content(line.arguments);
    // Both arms are views: a string and "" would make the ternary build a temporary string.
    std::string_view routing_key =
        line.operands.size() > 2 ? std::string_view(line.operands[2]) : std::string_view();
    std::string binding =
        "queue " + quoted(line.operands[0]) + (bind ? " bound to" : " unbound from") +
        " exchange " + quoted(line.operands[1]) + " with routing key " + quoted(routing_key) + "\n";
    Status status;
    if (bind) {
        amqp::QueueBind request;
        request.queue = line.operands[0];
        request.exchange = line.operands[1];
        request.routing_key = routing_key;
        request.arguments = arguments;
        amqp::QueueBindOk ok;
        status = client.call(request, ok);
    } else {
        amqp::QueueUnbind request;
        request.queue = line.operands[0];
        request.exchange = line.operands[1];
        request.routing_key = routing_key;
        request.arguments = arguments;
        amqp::QueueUnbindOk ok;
        status = client.call(request, ok);
    }
    if (status.ok()) print(binding);
    return status;
}

// Waits for the broker's verdict on the one message published in confirm mode. RabbitMQ
// sends a returned mandatory message before the ack, so a return is remembered, not final.
Status await_confirm(Client& client) {
    Status returned = Status::success();
    for (;;) {
        amqp::Method method;
        Status status = client.read_method(method, amqp::BasicAck::name);
        if (!status.ok()) return status;
        if (std::holds_alternative<amqp::BasicAck>(method)) return returned;
        if (std::holds_alternative<amqp::BasicNack>(method)) {
            return Status::refused(
                "the broker nacked the message: it did not take "
                "responsibility for it");
        }
        const auto* basic_return = std::get_if<amqp::BasicReturn>(&method);
        if (basic_return == nullptr) return client.unexpected(method, amqp::BasicAck::name);
        if (returned.ok()) returned = returned_refusal(*basic_return);
        Content skipped;
        status = client.read_content(skipped);
        if (!status.ok()) return status;
    }
}

Status run_publish(Client& client, const CommandLine& line, std::string_view body) {
    std::string headers = wire::field_table_content(line.headers);
    amqp::BasicProperties properties;
    if (line.persistent) properties.set_delivery_mode(2);
    if (!line.headers.empty()) properties.set_headers(headers);
    if (line.confirm) {
        amqp::ConfirmSelectOk ok;
        Status status = client.call(amqp::ConfirmSelect{}, ok);
        if (!status.ok()) return status;
    }
    amqp::BasicPublish publish;
    publish.exchange = line.operands[0];
    publish.routing_key = line.operands[1];
    publish.mandatory = line.mandatory;
    Status status = client.publish(publish, properties, body);
    if (status.ok() && line.confirm) status = await_confirm(client);
    // Closing the channel in order brings back any error the publish caused (an exchange that
    // does not exist closes the channel) and any return, before we say it worked.
    Status closed = client.close_channel();
    if (status.ok()) status = closed;
    if (status.ok()) print(line.confirm ? "published, confirmed\n" : "published\n");
    return status;
}

std::string message_report(const amqp::BasicGetOk& got, const Content& content) {
    const amqp::BasicProperties& properties = content.header.properties;
    std::string out = "exchange: " + std::string(got.exchange) + "\n";
    out += "routing_key: " + std::string(got.routing_key) + "\n";
    out += std::string("redelivered: ") + (got.redelivered ? "true" : "false") + "\n";
    out += "remaining: " + std::to_string(got.message_count) + "\n";
    if (properties.has(amqp::BasicProperty::content_type)) {
        out += "content_type: " + std::string(properties.content_type) + "\n";
    }
    if (properties.has(amqp::BasicProperty::delivery_mode)) {
        out += "delivery_mode: " + std::to_string(properties.delivery_mode) + "\n";
    }
    if (properties.has(amqp::BasicProperty::headers)) {
        wire::FieldTable headers;
        if (wire::decode_field_table(properties.headers, headers)) {
            out += "headers: " + wire::to_string(headers) + "\n";
        }
    }
    out += "body_size: " + std::to_string(content.body.size()) + "\n";
    out += "body: " + content.body + "\n";
    return out;
}

Status run_get(Client& client, const CommandLine& line) {
    u64 last_delivery_tag = 0;
    u32 received = 0;
    while (received < line.count) {
        amqp::BasicGet request;
        request.queue = line.operands[0];
        Status status = client.send_method(request);
        if (!status.ok()) return status;
        amqp::Method method;
        status = client.read_method(method, amqp::BasicGetOk::name);
        if (!status.ok()) return status;
        if (std::holds_alternative<amqp::BasicGetEmpty>(method)) break;
        const auto* got_view = std::get_if<amqp::BasicGetOk>(&method);
        if (got_view == nullptr) return client.unexpected(method, amqp::BasicGetOk::name);
        // The method's strings point into the read buffer, which the content reuses.
        std::string exchange(got_view->exchange);
        std::string routing_key(got_view->routing_key);
        amqp::BasicGetOk got = *got_view;
        got.exchange = exchange;
        got.routing_key = routing_key;
        Content content;
        status = client.read_content(content);
        if (!status.ok()) return status;
        print((received > 0 ? "\n" : "") + message_report(got, content));
        last_delivery_tag = got.delivery_tag;
        ++received;
    }
    if (received == 0) {
        std::fprintf(stderr, "lepusctl: queue '%s' is empty\n", line.operands[0].c_str());
        return Status::success();
    }
    // One settlement for all: requeueing each message at once would hand it straight back
    // to the next basic.get.
    Status status;
    if (line.requeue) {
        amqp::BasicNack nack;
        nack.delivery_tag = last_delivery_tag;
        nack.multiple = true;
        nack.requeue = true;
        status = client.send_method(nack);
    } else {
        amqp::BasicAck ack;
        ack.delivery_tag = last_delivery_tag;
        ack.multiple = true;
        status = client.send_method(ack);
    }
    if (!status.ok()) return status;
    return client.close_channel();  // reports a rejected settlement before we exit 0
}

Status dispatch(Client& client, const CommandLine& line, std::string_view body) {
    switch (line.command) {
        case CommandKind::status: return run_status(client);
        case CommandKind::declare_queue: return run_declare_queue(client, line, false);
        case CommandKind::queue_info: return run_declare_queue(client, line, true);
        case CommandKind::delete_queue: return run_delete_queue(client, line);
        case CommandKind::purge_queue: return run_purge_queue(client, line);
        case CommandKind::declare_exchange: return run_declare_exchange(client, line);
        case CommandKind::delete_exchange: return run_delete_exchange(client, line);
        case CommandKind::bind_queue: return run_bind_queue(client, line, true);
        case CommandKind::unbind_queue: return run_bind_queue(client, line, false);
        case CommandKind::publish: return run_publish(client, line, body);
        case CommandKind::get: return run_get(client, line);
    }
    return Status::failed("unknown command");
}

// The whole of stdin, up to the broker's message size limit.
bool read_stdin(std::string& out, std::string& error) {
    char chunk[64 * 1024];
    for (;;) {
        usize n = std::fread(chunk, 1, sizeof(chunk), stdin);
        out.append(chunk, n);
        if (out.size() > limits::message_size_max) {
            error = "the body on stdin is larger than " + std::to_string(limits::message_size_max) +
                    " bytes";
            return false;
        }
        if (n < sizeof(chunk)) break;
    }
    if (std::ferror(stdin)) {
        error = "cannot read the body from stdin";
        return false;
    }
    return true;
}

}  // namespace

int run_command(const CommandLine& line) {
    // The body is read before connecting, so a slow pipe cannot hold a connection open.
    std::string stdin_body;
    std::string_view body;
    if (line.command == CommandKind::publish && line.operands.size() > 2) {
        body = line.operands[2];
        if (body == "-") {
            std::string error;
            if (!read_stdin(stdin_body, error)) {
                std::fprintf(stderr, "lepusctl: %s\n", error.c_str());
                return exit_usage;
            }
            body = stdin_body;
        }
    }
    Client client(line.connection);
    Status status = client.open();
    if (status.ok()) status = dispatch(client, line, body);
    Status closed = client.close();
    if (status.ok()) status = closed;
    std::fflush(stdout);
    if (!status.ok()) std::fprintf(stderr, "lepusctl: %s\n", status.message.c_str());
    return status.exit_code();
}

}  // namespace lepus::ctl
