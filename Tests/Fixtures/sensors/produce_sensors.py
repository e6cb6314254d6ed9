"""Produces sensor readings with the official Pulsar client, about 1 % of them malformed.

usage: produce_sensors.py URL TOPIC COUNT MALFORMED_OUT [--rate R] [--compression lz4]

Message i (1..COUNT) is a valid reading with "seq": i, except when i % 100 == 37: then it is
malformed in one of five ways, by (i // 100) % 5: not JSON, missing temperature, temperature
of the wrong type, battery 300 (out of range for UInt8), invalid UTF-8. The malformed payloads
are written to MALFORMED_OUT (one JSON string of the payload per line, latin-1 decoded), so a
test can compare them with the dead-letter table. Batched, LZ4 by default.
"""
import argparse
import json
import random
import time

import pulsar

COMPRESSION = {"none": pulsar.CompressionType.NONE, "lz4": pulsar.CompressionType.LZ4,
               "zlib": pulsar.CompressionType.ZLib, "zstd": pulsar.CompressionType.ZSTD,
               "snappy": pulsar.CompressionType.SNAPPY}


def reading(i, rng):
    r = {"sensor_id": f"sensor-{i % 500:04d}", "ts": 1764100000000 + i * 10,
         "temperature": round(rng.uniform(-20, 45), 2), "battery": rng.randint(0, 100),
         "status": rng.choice(["ok", "ok", "ok", "warn", "low_battery"]),
         "location": {"site": f"plant-{i % 7}", "lat": 52.52, "lon": 13.4}, "seq": i}
    if i % 5:
        r["humidity"] = round(rng.uniform(10, 90), 1)
    elif i % 10 == 0:
        r["humidity"] = None
    return r


def malformed(i, rng):
    kind = (i // 100) % 5
    r = reading(i, rng)
    if kind == 0:
        return f"not json {i}".encode()
    if kind == 1:
        del r["temperature"]
    elif kind == 2:
        r["temperature"] = "hot"
    elif kind == 3:
        r["battery"] = 300
    else:
        return json.dumps(r).encode().replace(b"plant-", b"plant-\xff\xfe")
    return json.dumps(r).encode()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("topic")
    p.add_argument("count", type=int)
    p.add_argument("malformed_out")
    p.add_argument("--rate", type=float, default=0)
    p.add_argument("--compression", default="lz4")
    a = p.parse_args()
    rng = random.Random(42)
    client = pulsar.Client(a.url, logger=pulsar.ConsoleLogger(pulsar.LoggerLevel.Warn))
    producer = client.create_producer(a.topic, batching_enabled=True, batching_max_messages=500,
                                      batching_max_publish_delay_ms=5, compression_type=COMPRESSION[a.compression],
                                      block_if_queue_full=True, max_pending_messages=5000)
    start = time.time()
    with open(a.malformed_out, "w") as out:
        for i in range(1, a.count + 1):
            if i % 100 == 37:
                payload = malformed(i, rng)
                out.write(json.dumps(payload.decode("latin-1")) + "\n")
            else:
                payload = json.dumps(reading(i, rng)).encode()
            producer.send_async(payload, None)
            if a.rate and i % 1000 == 0:
                ahead = start + i / a.rate - time.time()
                if ahead > 0:
                    time.sleep(ahead)
    producer.flush()
    client.close()
    print(f"produced {a.count}", flush=True)


if __name__ == "__main__":
    main()
