"""The pipeline a user would write by hand in Python, the reference for scripts/bench e2e.

usage: python_pipeline.py PULSAR_URL TOPIC SUBSCRIPTION CLICKHOUSE_URL TABLE COUNT

The official client consumes; each message goes through json.loads into a row; every 20,000
rows are inserted over HTTP (JSONEachRow) and then the last message is acknowledged
cumulatively. Bad messages are skipped (counted). Stops after COUNT messages and prints
'rows N seconds S'.
"""
import json
import sys
import time
import urllib.parse
import urllib.request

import pulsar

url, topic, subscription, ch, table, count = sys.argv[1:7]
count = int(count)
client = pulsar.Client(url, logger=pulsar.ConsoleLogger(pulsar.LoggerLevel.Warn))
consumer = client.subscribe(topic, subscription, consumer_type=pulsar.ConsumerType.Exclusive,
                            initial_position=pulsar.InitialPosition.Earliest, receiver_queue_size=2000)
insert = ch + "/?query=" + urllib.parse.quote(f"INSERT INTO {table} FORMAT JSONEachRow")
rows, seen, bad, start = [], 0, 0, time.monotonic()
written = 0


def flush(last):
    global rows, written
    if rows:
        body = "\n".join(json.dumps(r) for r in rows).encode()
        urllib.request.urlopen(urllib.request.Request(insert, data=body)).read()
        written += len(rows)
        rows = []
    consumer.acknowledge_cumulative(last)


while seen < count:
    msg = consumer.receive()
    seen += 1
    try:
        r = json.loads(msg.data())
        rows.append({"sensor_id": r["sensor_id"], "ts": str(r["ts"] // 1000), "temperature": float(r["temperature"]),
                     "humidity": r.get("humidity"), "battery": int(r["battery"]), "status": r.get("status") or "unknown",
                     "site": r["location"]["site"], "seq": r["seq"]})
    except Exception:
        bad += 1
    if len(rows) >= 20000 or seen == count:
        flush(msg)
elapsed = time.monotonic() - start
client.close()
print(f"rows {written} seconds {elapsed:.3f} bad {bad}")
