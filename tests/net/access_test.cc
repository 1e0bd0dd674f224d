// Access control at the protocol edge: logins against the replicated users, connection.open
// against the user's permissions, and every AMQP operation against the permission RabbitMQ 3.10
// checks for it (rabbit_channel), with its reply code and text, from a table. Sessions run
// directly (no socket) over the multi-shard simulation; users and permissions are changed
// as the metadata shard's broadcasts change them, on every replica.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "core/access/password_hash.h"
#include "core/wire/field_table.h"
#include "tests/net/amqp/reply_code_printer.h"
#include "tests/net/sim_client.h"

namespace lepus::server::sim {
namespace {

using namespace lepus::amqp;

template <typename M>
std::string on1(const M& m) {
    return SimClient::method(1, m);
}

class AccessTest : public ::testing::Test {
protected:
    AccessTest() : sim_(SimConfig{2}, Transport::direct) {
        apply(core::UserPut{"u", access::hash_password("pw"), {}});
        permit(".*", ".*", ".*");
        // What the rows use, made by guest: exchanges ex, ex2 (direct) and tx (topic), queue q.
        SimClient guest(sim_, 0);
        guest.handshake();
        std::string setup;
        using Named = std::pair<std::string_view, std::string_view>;
        for (auto [name, type] :
             {Named{"ex", "direct"}, Named{"ex2", "direct"}, Named{"tx", "topic"}}) {
            ExchangeDeclare m;
            m.exchange = name;
            m.type = type;
            setup += on1(m);
        }
        QueueDeclare q;
        q.queue = "q";
        setup += on1(q);
        guest.send(setup);
        sim_.pump();
        EXPECT_EQ(SimClient::count(guest.read(), QueueDeclareOk::id), 1u);
    }

    // As a broadcast from the metadata shard: every replica applies it.
    void apply(const core::CatalogUpdate& update) {
        for (u32 s = 0; s < sim_.shard_count(); s++) {
            sim_.core().broker(s).catalog().apply(update);
            sim_.shard(s).close_for_catalog(sim_.core().broker(s).catalog());
        }
        sim_.pump();
    }
    void permit(std::string configure, std::string write, std::string read) {
        apply(core::PermissionsPut{"u", "/", std::move(configure), std::move(write),
                                   std::move(read)});
    }

    // The handshake as `user`; returns what came back.
    static std::string handshake_bytes(std::string_view user, std::string_view password,
                                       std::string_view vhost, bool failure_close = true) {
        std::string bytes(protocol_header);
        ConnectionStartOk start_ok;
        start_ok.mechanism = "PLAIN";
        std::string response =
            std::string(1, '\0') + std::string(user) + '\0' + std::string(password);
        start_ok.response = response;
        start_ok.locale = "en_US";
        std::string client_properties;
        if (failure_close) {
            wire::FieldTable capabilities = {
                {"authentication_failure_close", wire::FieldValue::boolean(true)}};
            wire::FieldTable properties = {
                {"capabilities", wire::FieldValue::table(std::move(capabilities))}};
            client_properties = wire::field_table_content(properties);
            start_ok.client_properties = client_properties;
        }
        bytes += SimClient::method(0, start_ok);
        ConnectionTuneOk tune_ok;
        tune_ok.channel_max = 2047;
        tune_ok.frame_max = 131072;
        bytes += SimClient::method(0, tune_ok);
        ConnectionOpen open;
        open.virtual_host = vhost;
        bytes += SimClient::method(0, open);
        return bytes;
    }

    // A client logged in as u with channel 1 open.
    std::unique_ptr<SimClient> user_client(u32 shard = 1) {
        auto client = std::make_unique<SimClient>(sim_, shard);
        client->send(handshake_bytes("u", "pw", "/") + on1(ChannelOpen{}));
        sim_.pump();
        std::vector<Received> got = client->read();
        EXPECT_TRUE(SimClient::saw(got, ChannelOpenOk::id));
        return client;
    }

    static std::optional<Received> close_in(const std::vector<Received>& got) {
        for (const Received& r : got) {
            if (r.method == ChannelClose::id || r.method == ConnectionClose::id) return r;
        }
        return std::nullopt;
    }

    ProtocolSim sim_;
};

std::string publish(std::string_view exchange, std::string_view key,
                    std::optional<std::string_view> user_id = std::nullopt) {
    BasicPublish p;
    p.exchange = exchange;
    p.routing_key = key;
    std::string bytes = on1(p);
    wire::WireWriter writer(bytes);
    ContentHeader header;
    header.body_size = 0;
    if (user_id) header.properties.set_user_id(*user_id);
    write_content_header_frame(writer, 1, header);
    return bytes;
}

template <typename M>
std::string with(M m) {
    return on1(m);
}

QueueDeclare queue_declare(std::string_view name, bool passive = false) {
    QueueDeclare m;
    m.queue = name;
    m.passive = passive;
    return m;
}

QueueBind queue_bind(std::string_view queue, std::string_view exchange, std::string_view key) {
    QueueBind m;
    m.queue = queue;
    m.exchange = exchange;
    m.routing_key = key;
    return m;
}

ExchangeBind exchange_bind(std::string_view destination, std::string_view source) {
    ExchangeBind m;
    m.destination = destination;
    m.source = source;
    return m;
}

std::string refused(std::string_view resource) {
    return "ACCESS_REFUSED - access to " + std::string(resource) +
           " in vhost '/' refused for user 'u'";
}

struct Row {
    const char* name;
    const char* configure;
    const char* write;
    const char* read;
    std::string trigger;
    u32 ok_method;        // the reply when allowed (0: none, a publish)
    std::string refusal;  // empty: allowed; else the 403 text (a prefix, for amq.gen- names)
    std::string topic_write = {};  // topic permissions on tx, when set
    std::string topic_read = {};
};

void PrintTo(const Row& row, std::ostream* out) { *out << row.name; }

std::vector<Row> rows() {
    ExchangeDeclare declare_ex;
    declare_ex.exchange = "uex";
    declare_ex.type = "direct";
    ExchangeDeclare passive_ex;
    passive_ex.exchange = "ex";
    passive_ex.passive = true;
    ExchangeDelete delete_ex;
    delete_ex.exchange = "ex";
    QueueDelete delete_q;
    delete_q.queue = "q";
    QueuePurge purge_q;
    purge_q.queue = "q";
    BasicGet get_q;
    get_q.queue = "q";
    BasicConsume consume_q;
    consume_q.queue = "q";
    QueueUnbind unbind;
    unbind.queue = "q";
    unbind.exchange = "ex";
    const std::string all = ".*";
    return {
        {"declare refused by an empty configure", "", ".*", ".*", with(queue_declare("uq")),
         QueueDeclareOk::id, refused("queue 'uq'")},
        {"declare allowed by its pattern", "^uq$", "", "", with(queue_declare("uq")),
         QueueDeclareOk::id, ""},
        {"a pattern is searched, unanchored", "uq", "", "", with(queue_declare("xuqx")),
         QueueDeclareOk::id, ""},
        {"an anchored pattern pins the name", "^uq$", "", "", with(queue_declare("xuqx")),
         QueueDeclareOk::id, refused("queue 'xuqx'")},
        {"a passive declare needs nothing", "", "", "", with(queue_declare("q", true)),
         QueueDeclareOk::id, ""},
        {"a server-named queue is checked by its amq.gen- name", "^app\\.", ".*", ".*",
         with(queue_declare("")), QueueDeclareOk::id, "ACCESS_REFUSED - access to queue 'amq.gen-"},
        {"exchange.declare needs configure", "", ".*", ".*", with(declare_ex),
         ExchangeDeclareOk::id, refused("exchange 'uex'")},
        {"a passive exchange.declare needs nothing", "", "", "", with(passive_ex),
         ExchangeDeclareOk::id, ""},
        {"exchange.delete needs configure", "^q$", ".*", ".*", with(delete_ex),
         ExchangeDeleteOk::id, refused("exchange 'ex'")},
        {"queue.delete needs configure", "^ex$", ".*", ".*", with(delete_q), QueueDeleteOk::id,
         refused("queue 'q'")},
        {"queue.purge needs read", ".*", ".*", "^ex$", with(purge_q), QueuePurgeOk::id,
         refused("queue 'q'")},
        {"queue.purge allowed", "", "", "^q$", with(purge_q), QueuePurgeOk::id, ""},
        {"basic.get needs read", ".*", ".*", "", with(get_q), BasicGetEmpty::id,
         refused("queue 'q'")},
        {"basic.get allowed", "", "", "^q$", with(get_q), BasicGetEmpty::id, ""},
        {"basic.consume needs read", ".*", ".*", "^ex$", with(consume_q), BasicConsumeOk::id,
         refused("queue 'q'")},
        {"queue.bind needs write on the queue", ".*", "^ex$", ".*",
         with(queue_bind("q", "ex", "k")), QueueBindOk::id, refused("queue 'q'")},
        {"queue.bind needs read on the exchange", "", "^q$", "^q$",
         with(queue_bind("q", "ex", "k")), QueueBindOk::id, refused("exchange 'ex'")},
        {"queue.bind allowed", "", "^q$", "^ex$", with(queue_bind("q", "ex", "k")), QueueBindOk::id,
         ""},
        {"queue.unbind needs read on the exchange", ".*", ".*", "^q$", with(unbind),
         QueueUnbindOk::id, refused("exchange 'ex'")},
        {"exchange.bind needs write on the destination", ".*", "^ex$", ".*",
         with(exchange_bind("ex2", "ex")), ExchangeBindOk::id, refused("exchange 'ex2'")},
        {"exchange.bind needs read on the source", ".*", ".*", "^ex2$",
         with(exchange_bind("ex2", "ex")), ExchangeBindOk::id, refused("exchange 'ex'")},
        {"exchange.bind allowed", "", "^ex2$", "^ex$", with(exchange_bind("ex2", "ex")),
         ExchangeBindOk::id, ""},
        {"publish needs write", ".*", "^q$", ".*", publish("ex", "k"), 0, refused("exchange 'ex'")},
        {"the default exchange is amq.default", ".*", "^ex$", ".*", publish("", "q"), 0,
         refused("exchange 'amq.default'")},
        {"publish to the default exchange allowed", "", "^amq\\.default$", "", publish("", "q"), 0,
         ""},
        {"a missing exchange is refused before it is looked up", ".*", "^ex$", ".*",
         publish("nope", "k"), 0, refused("exchange 'nope'")},
        {"topic write on a topic exchange", ".*", ".*", ".*", publish("tx", "b.c"), 0,
         "ACCESS_REFUSED - access to topic 'b.c' in exchange 'tx' in vhost '/' refused for "
         "user 'u'",
         "^a\\.", ".*"},
        {"topic write allowed, {username} expanded", ".*", ".*", ".*", publish("tx", "u.c"), 0, "",
         "^{username}\\.", ".*"},
        {"topic permissions apply to topic exchanges only", ".*", ".*", ".*", publish("ex", "b.c"),
         0, "", "^a\\.", ".*"},
        {"topic read on a binding from a topic exchange", ".*", ".*", ".*",
         with(queue_bind("q", "tx", "b.#")), QueueBindOk::id,
         "ACCESS_REFUSED - access to topic 'b.#' in exchange 'tx' in vhost '/' refused for "
         "user 'u'",
         ".*", "^a\\."},
        {"topic read allowed", ".*", ".*", ".*", with(queue_bind("q", "tx", "a.#")),
         QueueBindOk::id, "", ".*", "^a\\."},
    };
}

class AccessRowTest : public AccessTest, public ::testing::WithParamInterface<Row> {};

TEST_P(AccessRowTest, EachOperationChecksItsPermission) {
    const Row& row = GetParam();
    permit(row.configure, row.write, row.read);
    if (!row.topic_write.empty()) {
        apply(core::TopicPermissionsPut{"u", "/", "tx", row.topic_write, row.topic_read});
    }
    auto client = user_client();
    client->send(row.trigger);
    sim_.pump();
    std::vector<Received> got = client->read();
    std::optional<Received> close = close_in(got);
    if (row.refusal.empty()) {
        EXPECT_FALSE(close) << close->reply_text;
        if (row.ok_method != 0) {
            EXPECT_TRUE(SimClient::saw(got, row.ok_method));
        }
        return;
    }
    ASSERT_TRUE(close);
    EXPECT_EQ(close->method, ChannelClose::id);
    EXPECT_EQ(close->reply_code, ReplyCode::access_refused);
    EXPECT_EQ(close->reply_text.substr(0, row.refusal.size()), row.refusal);
    if (row.refusal.back() == '\'') {
        EXPECT_EQ(close->reply_text, row.refusal);
    }
}

INSTANTIATE_TEST_SUITE_P(Rows, AccessRowTest, ::testing::ValuesIn(rows()));

TEST_F(AccessTest, APermissionChangeAppliesToOpenChannels) {
    auto client = user_client();
    client->send(publish("ex", "k"));
    sim_.pump();
    EXPECT_FALSE(close_in(client->read()));
    permit(".*", "^q$", ".*");  // the publish decision for ex is kept no longer
    client->send(publish("ex", "k"));
    sim_.pump();
    std::optional<Received> close = close_in(client->read());
    ASSERT_TRUE(close);
    EXPECT_EQ(close->reply_text, refused("exchange 'ex'"));
}

TEST_F(AccessTest, UserIdMustBeTheUsersUnlessAnImpersonator) {
    auto client = user_client();
    client->send(publish("ex", "k", "u") + publish("ex", "k", "other"));
    sim_.pump();
    std::optional<Received> close = close_in(client->read());
    ASSERT_TRUE(close);
    EXPECT_EQ(close->reply_code, ReplyCode::precondition_failed);
    EXPECT_EQ(close->reply_text,
              "PRECONDITION_FAILED - user_id property set to 'other' but authenticated user "
              "was 'u'");
    apply(core::UserPut{"u", access::hash_password("pw"), {"impersonator"}});
    auto impersonator = user_client();
    impersonator->send(publish("ex", "k", "other"));
    sim_.pump();
    EXPECT_FALSE(close_in(impersonator->read()));
}

TEST_F(AccessTest, LoginsAndVhostAccess) {
    struct Case {
        const char* name;
        std::string bytes;
        std::optional<ReplyCode> code;  // none: open-ok
        std::string text;
    };
    const std::string login_refused =
        "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details "
        "see the broker logfile.";
    apply(core::VhostAdded{"other"});
    const Case cases[] = {
        {"the user's password", handshake_bytes("u", "pw", "/"), std::nullopt, ""},
        {"a wrong password", handshake_bytes("u", "bad", "/"), ReplyCode::access_refused,
         login_refused},
        {"a missing user", handshake_bytes("nobody", "pw", "/"), ReplyCode::access_refused,
         login_refused},
        {"a blank password", handshake_bytes("u", "", "/"), ReplyCode::access_refused,
         login_refused},
        {"a vhost without permissions", handshake_bytes("u", "pw", "other"), ReplyCode::not_allowed,
         "NOT_ALLOWED - access to vhost 'other' refused for user 'u'"},
        {"a missing vhost", handshake_bytes("u", "pw", "nope"), ReplyCode::not_allowed,
         "NOT_ALLOWED - vhost nope not found"},
    };
    for (const Case& c : cases) {
        SimClient client(sim_, 0);
        client.send(c.bytes);
        sim_.pump();
        std::vector<Received> got = client.read();
        std::optional<Received> close = close_in(got);
        if (!c.code) {
            EXPECT_TRUE(SimClient::saw(got, ConnectionOpenOk::id)) << c.name;
            EXPECT_FALSE(close) << c.name;
            continue;
        }
        ASSERT_TRUE(close) << c.name;
        EXPECT_EQ(close->method, ConnectionClose::id) << c.name;
        EXPECT_EQ(close->reply_code, c.code) << c.name;
        EXPECT_EQ(close->reply_text, c.text) << c.name;
    }
    // Without authentication_failure_close, a refused login only sees the socket close.
    SimClient quiet(sim_, 0);
    quiet.send(handshake_bytes("u", "bad", "/", false));
    sim_.pump();
    EXPECT_FALSE(close_in(quiet.read()));
}

// Limits count every shard's connections and channels (shard 0 admits, core/admission.h):
// these connections land on both shards in turn.
TEST_F(AccessTest, ConnectionAndChannelLimits) {
    // A vhost of their own: the fixture's guest connection counts in "/".
    apply(core::VhostAdded{"lim"});
    apply(core::PermissionsPut{"u", "lim", ".*", ".*", ".*"});
    u32 next_shard = 0;
    auto open_as_u = [&] {
        auto client = std::make_unique<SimClient>(sim_, next_shard++ % 2);
        client->send(handshake_bytes("u", "pw", "lim"));
        sim_.pump();
        std::optional<Received> close = close_in(client->read());
        return std::pair{std::move(client), close};
    };
    apply(core::VhostLimitsPut{"lim", {1, std::nullopt}});
    auto [first, first_close] = open_as_u();
    EXPECT_FALSE(first_close);
    auto [second, second_close] = open_as_u();
    ASSERT_TRUE(second_close);
    EXPECT_EQ(second_close->reply_code, ReplyCode::not_allowed);
    EXPECT_EQ(second_close->reply_text,
              "NOT_ALLOWED - access to vhost 'lim' refused for user 'u': connection limit (1) is "
              "reached");
    apply(core::VhostLimitsPut{"lim", {}});
    apply(core::UserLimitsPut{"u", {1, 2}});
    auto [third, third_close] = open_as_u();
    ASSERT_TRUE(third_close);
    EXPECT_EQ(third_close->reply_text,
              "NOT_ALLOWED - connection refused for user 'u': user connection limit (1) is "
              "reached");
    // max-channels over both shards: one channel here, one on a connection of the other shard,
    // a third is refused; one closed makes room again.
    apply(core::UserLimitsPut{"u", {std::nullopt, 2}});
    auto [other, other_close] = open_as_u();
    ASSERT_FALSE(other_close);
    first->send(on1(ChannelOpen{}));
    other->send(on1(ChannelOpen{}));
    sim_.pump();
    EXPECT_EQ(SimClient::count(first->read(), ChannelOpenOk::id), 1u);
    EXPECT_EQ(SimClient::count(other->read(), ChannelOpenOk::id), 1u);
    first->send(on1(ChannelClose{}));
    sim_.pump();
    EXPECT_TRUE(SimClient::saw(first->read(), ChannelCloseOk::id));
    // Pipelined: the second open waits behind the first's admission, then is refused.
    first->send(SimClient::method(3, ChannelOpen{}) + SimClient::method(4, ChannelOpen{}));
    sim_.pump();
    std::vector<Received> got = first->read();
    EXPECT_EQ(SimClient::count(got, ChannelOpenOk::id), 1u);
    std::optional<Received> close = close_in(got);
    ASSERT_TRUE(close);
    EXPECT_EQ(close->method, ConnectionClose::id);
    EXPECT_EQ(close->reply_text,
              "NOT_ALLOWED - number of channels opened for user 'u' has reached the maximum "
              "allowed user limit of (2)");
}

TEST_F(AccessTest, DeletingAUserOrAVhostClosesItsConnections) {
    auto client = user_client(1);
    apply(core::UserRemoved{"u"});
    std::optional<Received> close = close_in(client->read());
    ASSERT_TRUE(close);
    EXPECT_EQ(close->method, ConnectionClose::id);
    EXPECT_EQ(close->reply_code, ReplyCode::connection_forced);
    EXPECT_EQ(close->reply_text, "CONNECTION_FORCED - user 'u' is deleted");

    SimClient guest(sim_, 0);
    guest.handshake();
    apply(core::VhostRemoved{"/"});
    close = close_in(guest.read());
    ASSERT_TRUE(close);
    EXPECT_EQ(close->reply_text, "CONNECTION_FORCED - vhost '/' is down");
}

}  // namespace
}  // namespace lepus::server::sim
