"""Produces test messages with the official Pulsar client (the reference implementation).

usage: produce.py URL TOPIC COUNT [--compression none|lz4|zlib|zstd|snappy] [--batch N]
                  [--start S] [--tag TAG] [--rate R]

Message i (from S): payload '{"i":i,"tag":TAG,"pad":"..."}', key 'k<i % 13>', properties
{"i": str(i), "tag": TAG}, event time 1764100000000 + i. Batching is on unless --batch 1.
Prints 'produced COUNT' when every message is acknowledged by the broker.
"""
import argparse
import sys
import time

import pulsar

COMPRESSION = {
    "none": pulsar.CompressionType.NONE,
    "lz4": pulsar.CompressionType.LZ4,
    "zlib": pulsar.CompressionType.ZLib,
    "zstd": pulsar.CompressionType.ZSTD,
    "snappy": pulsar.CompressionType.SNAPPY,
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("topic")
    p.add_argument("count", type=int)
    p.add_argument("--compression", default="none")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--start", type=int, default=1)
    p.add_argument("--tag", default="t")
    p.add_argument("--rate", type=float, default=0)
    a = p.parse_args()
    client = pulsar.Client(a.url, logger=pulsar.ConsoleLogger(pulsar.LoggerLevel.Warn))
    producer = client.create_producer(
        a.topic,
        batching_enabled=a.batch > 1,
        batching_max_messages=max(a.batch, 2),  # the client refuses 1 even with batching off
        batching_max_publish_delay_ms=5,
        compression_type=COMPRESSION[a.compression],
        block_if_queue_full=True,
        max_pending_messages=20000,
    )
    errors = []

    def done(result, _msg_id):
        if result != pulsar.Result.Ok:
            errors.append(result)

    began = time.time()
    for n in range(a.count):
        i = a.start + n
        payload = '{"i":%d,"tag":"%s","pad":"%s"}' % (i, a.tag, "x" * (i % 40))
        producer.send_async(
            payload.encode(),
            done,
            properties={"i": str(i), "tag": a.tag},
            partition_key="k%d" % (i % 13),
            event_timestamp=1764100000000 + i,
        )
        if a.rate > 0:
            due = began + (n + 1) / a.rate
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
    producer.flush()
    producer.close()
    client.close()
    if errors:
        print("errors: %s" % errors[:5], file=sys.stderr)
        sys.exit(1)
    print("produced %d" % a.count)


if __name__ == "__main__":
    main()
