#include "net/session/server_properties.h"

#include "core/wire/field_table.h"

namespace lepus::session {

namespace {

wire::FieldValue text(const char* s) { return wire::FieldValue::string(s); }
wire::FieldValue flag(bool b) { return wire::FieldValue::boolean(b); }

}  // namespace

std::string server_properties_table() {
    wire::FieldTable capabilities = {
        {"publisher_confirms", flag(true)}, {"exchange_exchange_bindings", flag(true)},
        {"basic.nack", flag(true)},         {"consumer_cancel_notify", flag(true)},
        {"connection.blocked", flag(true)}, {"authentication_failure_close", flag(true)},
        {"per_consumer_qos", flag(true)},   {"direct_reply_to", flag(true)},
    };
    wire::FieldValue caps = wire::FieldValue::table(std::move(capabilities));
    wire::FieldTable table = {
        {"product", text("Lepus")},
        {"version", text("0.1.0")},
        {"platform", text("C++20, Linux io_uring")},
        {"copyright", text("Copyright (c) the Lepus authors")},
        {"information", text("An AMQP 0-9-1 broker, thread-per-core on io_uring")},
        {"cluster_name", text("lepus@localhost")},
        {"capabilities", std::move(caps)},
    };
    return wire::field_table_content(table);
}

}  // namespace lepus::session
