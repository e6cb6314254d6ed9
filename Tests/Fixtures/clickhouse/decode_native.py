"""Decodes a Native file written by the sluice ClickHouse sink with chdb (an in-process
ClickHouse 26.x) and prints, as one JSON object: the column types it read and the rows.

    .venv/bin/python Tests/Fixtures/clickhouse/decode_native.py FILE
"""
import json
import sys

import chdb

path = sys.argv[1].replace("'", "\\'")
types = chdb.query(f"DESCRIBE file('{path}', 'Native')", "JSONEachRow").data()
rows = chdb.query(
    f"SELECT * FROM file('{path}', 'Native') SETTINGS output_format_json_quote_64bit_integers = 0",
    "JSONEachRow",
).data()
print(json.dumps({
    "types": {c["name"]: c["type"] for c in map(json.loads, filter(None, types.splitlines()))},
    "rows": [json.loads(line) for line in rows.splitlines() if line],
}))
