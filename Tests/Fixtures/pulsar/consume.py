"""Consumes with the official Pulsar client and writes one JSON line per message.

usage: consume.py URL TOPIC SUBSCRIPTION COUNT OUTPUT [--idle SECONDS] [--type exclusive|shared|key_shared|failover]

Stops after COUNT messages, or after SECONDS without a message (default 10). Each line:
{"payload": str (UTF-8, invalid bytes replaced), "key", "properties", "topic",
 "message_id": [ledger, entry, partition, batch_index], "event_time", "publish_time"}.
"""
import argparse
import json

import pulsar


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("topic")
    p.add_argument("subscription")
    p.add_argument("count", type=int)
    p.add_argument("output")
    p.add_argument("--idle", type=float, default=10)
    p.add_argument("--type", default="exclusive", choices=["exclusive", "shared", "key_shared", "failover"])
    a = p.parse_args()
    client = pulsar.Client(a.url, logger=pulsar.ConsoleLogger(pulsar.LoggerLevel.Warn))
    consumer = client.subscribe(a.topic, a.subscription, initial_position=pulsar.InitialPosition.Earliest,
                                consumer_type={"exclusive": pulsar.ConsumerType.Exclusive, "shared": pulsar.ConsumerType.Shared,
                                               "key_shared": pulsar.ConsumerType.KeyShared,
                                               "failover": pulsar.ConsumerType.Failover}[a.type])
    n = 0
    with open(a.output, "w") as out:
        while n < a.count:
            try:
                m = consumer.receive(timeout_millis=int(a.idle * 1000))
            except pulsar.Timeout:
                break
            mid = m.message_id()
            out.write(json.dumps({
                "payload": m.data().decode("utf-8", "replace"),
                "key": m.partition_key() or None,
                "properties": m.properties(),
                "topic": m.topic_name(),
                "message_id": [mid.ledger_id(), mid.entry_id(), mid.partition(), mid.batch_index()],
                "event_time": m.event_timestamp(),
                "publish_time": m.publish_timestamp(),
            }) + "\n")
            consumer.acknowledge(m)
            n += 1
    consumer.close()
    client.close()
    print("consumed %d" % n)


if __name__ == "__main__":
    main()
