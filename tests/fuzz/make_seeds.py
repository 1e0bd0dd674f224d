"""Writes the fuzz targets' seed inputs into corpus/, made with pika's own encoder so that
they are frames a real client sends (run with /usr/bin/python3, which has Debian's pika).
The fuzzers start from these and from what earlier runs merged in beside them."""
import datetime
import hashlib
import os
import struct
import sys

from pika import frame, spec
from pika.data import encode_table

HERE = os.path.dirname(os.path.abspath(__file__))

TABLE = {
    "x-message-ttl": 60000, "x-max-length": 10, "x-dead-letter-exchange": "dlx",
    "flag": True, "nested": {"a": [1, "two", {"three": 3}]}, "bytes": b"\x00\xff",
    "big": 2 ** 40, "neg": -5, "when": datetime.datetime(2026, 1, 2),
}


def table_content(table):
    pieces = []
    encode_table(pieces, table)
    return b"".join(pieces)[4:]  # without the u32 length prefix


def methods():
    return [
        spec.Connection.StartOk({"product": "fuzz", "capabilities": {"publisher_confirms": True}},
                                "PLAIN", "\0guest\0guest", "en_US"),
        spec.Connection.TuneOk(2047, 131072, 60),
        spec.Connection.Open("/"),
        spec.Connection.Close(320, "CONNECTION_FORCED", 0, 0),
        spec.Channel.Open(),
        spec.Channel.Close(406, "PRECONDITION_FAILED - x", 50, 10),
        spec.Exchange.Declare(0, "logs", "topic", False, True, False, False, False, TABLE),
        spec.Exchange.Bind(0, "a", "b", "k.#", False, {"x-match": "any"}),
        spec.Queue.Declare(0, "q", False, True, False, False, False, TABLE),
        spec.Queue.Bind(0, "q", "logs", "*.error", False, {}),
        spec.Queue.Purge(0, "q", False),
        spec.Queue.Delete(0, "q", True, False, False),
        spec.Basic.Qos(0, 100, False),
        spec.Basic.Consume(0, "q", "ctag", False, False, False, False, {"x-priority": 5}),
        spec.Basic.Cancel("ctag", False),
        spec.Basic.Publish(0, "logs", "a.error", True, False),
        spec.Basic.Get(0, "q", True),
        spec.Basic.Ack(17, True),
        spec.Basic.Nack(18, False, True),
        spec.Basic.Reject(19, False),
        spec.Basic.Recover(True),
        spec.Confirm.Select(False),
        spec.Tx.Select(), spec.Tx.Commit(), spec.Tx.Rollback(),
    ]


def properties():
    return [
        spec.BasicProperties(),
        spec.BasicProperties(delivery_mode=2, content_type="application/json"),
        spec.BasicProperties(content_type="text/plain", content_encoding="utf-8", headers=TABLE,
                             delivery_mode=1, priority=3, correlation_id="c-1",
                             reply_to="amq.rabbitmq.reply-to", expiration="60000",
                             message_id="m-1", timestamp=1700000000, type="t", user_id="guest",
                             app_id="fuzz", cluster_id="c"),
        spec.BasicProperties(expiration="0", headers={"x-death": [{"count": 1, "queue": "q"}]}),
    ]


def write(target, data):
    directory = os.path.join(HERE, "corpus", target)
    os.makedirs(directory, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def main():
    frame_max_prefix = struct.pack(">H", (131072 - 4096) // 16)
    stream = b""
    for method in methods():
        payload = frame.Method(1, method).marshal()[7:-1]
        write("method", payload)
        stream += frame.Method(1, method).marshal()
    for props in properties():
        header = frame.Header(1, 5, props).marshal()
        write("content_header", header[7:-1])
        publish = frame.Method(1, spec.Basic.Publish(0, "", "q")).marshal()
        write("frame", frame_max_prefix + publish + header + frame.Body(1, b"hello").marshal())
    write("frame", frame_max_prefix + stream)
    write("frame", frame_max_prefix + frame.Heartbeat().marshal())
    for table in (TABLE, {}, {"x-match": "all", "a": 1}, {"list": [[], {}, None]}):
        write("field_table", table_content(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
