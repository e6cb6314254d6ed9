# shellcheck shell=bash
# scripts/bench clickhouse: rows per second into the sensor table (pipelines/sensors.sql) on
# Debian's ClickHouse, started for the run on free loopback ports:
#   (a) sluice: pre-built batches of sensor rows (Tests/Fixtures/clickhouse/sensor_batches.c)
#       -> clickhouse-sink, exactly-once (staged, sealed, committed per checkpoint), release build
#   (b) curl posting the same rows as one Native file (dumped from the table after (a))
# and sluice's peak resident memory for two epoch sizes (checkpoints every 1 s, and one epoch
# holding every row). Environment: CH_BENCH_ROWS (default 4000000).

clickhouse() {
  echo
  echo "== clickhouse: sensor rows into sensor_readings, sluice's sink vs curl posting Native =="
  bash scripts/services/clickhouse.sh install >/dev/null
  local rows=${CH_BENCH_ROWS:-4000000} http tcp dir="$work/clickhouse"
  read -r http tcp < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
  bash scripts/services/clickhouse.sh start "$dir" "$http" "$tcp" >/dev/null
  # shellcheck disable=SC2064
  trap "bash scripts/services/clickhouse.sh stop '$dir'; rm -rf '$work'" EXIT
  local url="http://127.0.0.1:$http/"
  chq() { curl -sS --fail-with-body "$url" --data-binary "$1"; }
  python3 - "$url" <<'PY'
import sys, urllib.request
sql = open("pipelines/sensors.sql").read()
for stmt in sql.split(";"):
    stmt = "\n".join(l for l in stmt.splitlines() if not l.strip().startswith("--")).strip()
    if stmt:
        urllib.request.urlopen(sys.argv[1], stmt.encode()).read()
PY
  cc -shared -fPIC -O2 -I Sources/PluginABI/include -o "$work/libsensor-batches.so" Tests/Fixtures/clickhouse/sensor_batches.c

  # run_sink NAME INTERVAL -> "seconds peak_rss_kb cpu_seconds"
  run_sink() {
    local name=$1 interval=$2
    rm -rf "$work/ck-$name"
    cat > "$work/$name.yaml" <<YAML
name: bench-ch-$name
source: { plugin: $work/libsensor-batches.so, config: { count: $rows, batch_size: 8192 } }
sink:
  plugin: clickhouse-sink
  config: { url: "$url", table: sensor_readings, max_block_rows: 262144 }
checkpointing: { interval: $interval, directory: $work/ck-$name, retained: 2, mode: exactly-once }
queue_capacity: 16
YAML
    python3 - "$bin/sluice" "$work/$name.yaml" "$work/$name.log" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
with open(sys.argv[3], "w") as log:
    status = subprocess.call([sys.argv[1], "worker", sys.argv[2]], stderr=log)
elapsed = time.monotonic() - t
if status != 0:
    sys.exit(f"sluice worker exited {status}; see the log:\n" + open(sys.argv[3]).read()[-3000:])
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{elapsed:.3f} {u.ru_maxrss} {u.ru_utime + u.ru_stime:.3f}")
PY
  }

  local s1 rss1 cpu1 s2 rss2 cpu2 sc
  # Warm-up (untimed): the server's first inserts (new table files, the query log's creation on
  # the first SYSTEM FLUSH LOGS) would otherwise fall on sluice's first timed run only.
  local full=$rows
  rows=200000 run_sink warmup 1s >/dev/null
  rows=$full
  chq "TRUNCATE TABLE sensor_readings"
  read -r s1 rss1 cpu1 < <(run_sink epoch1s 1s)
  [ "$(chq 'SELECT count() FROM sensor_readings')" = "$rows" ] || { echo "sluice inserted $(chq 'SELECT count() FROM sensor_readings') rows, expected $rows" >&2; return 1; }
  # The same rows as one Native file, for curl.
  curl -sS --fail-with-body "$url" --data-binary "SELECT * FROM sensor_readings FORMAT Native" -o "$work/sensors.native"
  chq "TRUNCATE TABLE sensor_readings"
  sc=$(python3 - "$url" "$work/sensors.native" <<'PY'
import subprocess, sys, time, urllib.parse
q = urllib.parse.quote("INSERT INTO sensor_readings FORMAT Native")
t = time.monotonic()
subprocess.check_call(["curl", "-sS", "--fail-with-body", "--data-binary", "@" + sys.argv[2], sys.argv[1] + "?query=" + q])
print(f"{time.monotonic() - t:.3f}")
PY
)
  [ "$(chq 'SELECT count() FROM sensor_readings')" = "$rows" ] || { echo "curl inserted a different row count" >&2; return 1; }
  chq "TRUNCATE TABLE sensor_readings"
  read -r s2 rss2 cpu2 < <(run_sink oneepoch 1h)
  local size
  size=$(stat -c %s "$work/sensors.native")
  python3 - <<PY
rows, s1, s2, sc = $rows, $s1, $s2, $sc
print(f"sluice clickhouse-sink, exactly-once, checkpoints every 1 s: {rows/s1:>12,.0f} rows/s  ({rows:,} rows in {s1:.2f} s, {$cpu1:.2f} s of sluice CPU)")
print(f"curl posting the same rows as Native ($size bytes):        {rows/sc:>12,.0f} rows/s  ({sc:.2f} s)")
print(f"ratio: {sc/s1*100:.1f} % of curl's rate (target >= 90 %)")
print(f"sluice with one epoch holding all {rows:,} rows:           {rows/s2:>12,.0f} rows/s  ({s2:.2f} s, {$cpu2:.2f} s of sluice CPU)")
print(f"sluice peak RSS: {$rss1/1024:.0f} MiB with 1 s epochs, {$rss2/1024:.0f} MiB with one {rows:,}-row epoch (bounded by max_block_rows/bytes, not the epoch)")
PY
  bash scripts/services/clickhouse.sh stop "$dir"
  trap 'rm -rf "$work"' EXIT
}
