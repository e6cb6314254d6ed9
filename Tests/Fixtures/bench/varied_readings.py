"""Writes N sensor readings, one JSON object per line, that stress a parser more than the
`sensors` template: half of them escape text as \\uXXXX (accents, CJK, a surrogate pair),
every reading lists its keys in its own order, humidity and status are missing or null in
some, and numbers vary in form (exponents, negative zero, integers as floats). Every reading
is valid for pipelines/sensors.yaml; seq runs from 1 to N.

    python3 varied_readings.py N OUT
"""
import json
import random
import sys

n, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(7)
sites = ["plant-1", "usine-é", "工場-3", "werk-ß", "site-😀"]
statuses = ["ok", "low_battery", "error", "tiède", "正常"]
with open(out, "w", encoding="utf-8") as f:
    for seq in range(1, n + 1):
        sensor = rng.randrange(1000)
        reading = {
            "sensor_id": f"sensor-{sensor:04d}" if seq % 3 else f"capteur-{sensor:04d}-é",
            "ts": 1764100000000 + seq * 10,
            "temperature": rng.choice([round(rng.uniform(-15, 45), 1), rng.randrange(-15, 45), 2.15e1, -0.0]),
            "battery": rng.randrange(101),
            "location": {"site": rng.choice(sites), "floor": rng.randrange(5)},
            "seq": seq,
        }
        roll = rng.random()
        if roll < 0.6:
            reading["humidity"] = round(rng.uniform(0, 100), 2)
        elif roll < 0.8:
            reading["humidity"] = None
        if rng.random() < 0.7:
            reading["status"] = rng.choice(statuses) if rng.random() < 0.9 else None
        if rng.random() < 0.3:
            reading["firmware"] = {"version": "1.2.3", "flags": [1, 2, 3]}
        keys = list(reading)
        rng.shuffle(keys)
        # Half escape every non-ASCII character (\\u00e9, surrogate pairs); half write UTF-8.
        f.write(json.dumps({k: reading[k] for k in keys}, ensure_ascii=seq % 2 == 0, separators=(",", ":")) + "\n")
