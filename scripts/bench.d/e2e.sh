# shellcheck shell=bash
# scripts/bench e2e: the seed's job end to end, in one run on the same local pulsar-lite and
# ClickHouse (started for the run), over two backlogs of E2E_MESSAGES (default 1,000,000)
# readings each:
#   sensors   `sluice produce --template sensors` (the pipeline's own data, LZ4 batches)
#   varied    Tests/Fixtures/bench/varied_readings.py: half with \uXXXX escapes, keys in varying
#             order, optional fields missing or null (LZ4 batches)
# For each backlog, in the same run:
#   sluice      pipelines/sensors.yaml, exactly-once, checkpoints every second (release build)
#   unchained   the same with `chain_transforms: false`: the parser on a thread of its own, fed
#               through a queue, instead of on the source's thread
#   python      the pipeline a user would write by hand: official client, json.loads, an HTTP
#               insert every 20,000 rows, cumulative ack after each insert
#   limit       the slower of consuming alone (sluice's Pulsar source into a null sink) and
#               inserting alone (curl posting the same rows to ClickHouse as one Native file)
# with throughput, peak resident memory and CPU per row (getrusage of each child). Then:
#   TLS         the sensors backlog over TLS on both sides (pulsar+ssl through stunnel,
#               ClickHouse's HTTPS)
#   supervisor  `sluice run` over part of the backlog: the supervisor's and the worker's peak RSS
#   freshness   publish-to-visible latency (p50, p99) under a steady stream of E2E_RATE (default
#               50,000) readings/s for E2E_FRESH_SECONDS (default 10), at 1 s and 250 ms
#               checkpoint intervals
e2e() {
  echo
  echo "== e2e: Pulsar -> sensor parser -> ClickHouse, exactly-once =="
  local n=${E2E_MESSAGES:-1000000} dir="$work/e2e"
  start_services "$dir"
  chq() { curl -sS --fail-with-body "$ch/" --data-binary "$1"; }
  date -u +"run on %Y-%m-%d %H:%M UTC, $(nproc) cores"
  echo "producing $n sensors readings and $n varied readings..."
  "$bin/sluice" produce --url "$pulsar" --topic persistent://public/default/sensors --count "$n" --template sensors --compression lz4 2>&1 | tail -1
  python3 Tests/Fixtures/bench/varied_readings.py "$n" "$dir/varied.jsonl"
  "$bin/sluice" produce --url "$pulsar" --topic persistent://public/default/varied --file "$dir/varied.jsonl" --compression lz4 2>&1 | tail -1
  rm -f "$dir/varied.jsonl"

  e2e_backlog sensors "$n"
  e2e_backlog varied "$n"
  e2e_tls "$n"
  e2e_supervisor $((n / 5))
  e2e_freshness
}

# measure NAME COMMAND... -> "seconds peak_rss_kb cpu_seconds" of a child process, started once
# the machine is quiet
measure() {
  settle
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
name, cmd = sys.argv[1], sys.argv[2:]
t = time.monotonic()
with open(f"{name}.log", "w") as log:
    status = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT)
elapsed = time.monotonic() - t
if status != 0:
    sys.exit(f"{cmd[0]} exited {status}:\n" + open(f"{name}.log").read()[-3000:])
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{elapsed:.3f} {u.ru_maxrss} {u.ru_utime + u.ru_stime:.3f}")
PY
}

# sensors_pipeline TABLE STOP_AFTER OUT: pipelines/sensors.yaml into TABLE, ending after
# STOP_AFTER messages.
sensors_pipeline() {
  sed -e "s|    receiver_queue_size: 2000|    receiver_queue_size: 2000\n    stop_after_messages: $2|" \
      -e "s|    table: sensor_readings\$|    table: $1|" pipelines/sensors.yaml > "$3"
}

# e2e_backlog NAME N: sluice, python and the two limits over topic NAME.
e2e_backlog() {
  local name=$1 n=$2 dir="$work/e2e" python=.venv/bin/python topic=persistent://public/default/$1
  local table="readings_$name"
  for t in "$table" "${table}_py" "${table}_curl"; do chq "CREATE TABLE $t AS sensor_readings" >/dev/null; done
  local errors_before
  errors_before=$(chq "SELECT count() FROM sensor_readings_errors")

  sensors_pipeline "$table" "$n" "$dir/$name.yaml"
  local s_s s_rss s_cpu rows dead
  read -r s_s s_rss s_cpu < <(PULSAR_URL=$pulsar PULSAR_TOPIC=$topic CLICKHOUSE_URL=$ch SLUICE_CHECKPOINT_DIR=$dir/ck-$name SLUICE_CHECKPOINT_INTERVAL=1s \
    measure "$dir/sluice-$name" "$bin/sluice" worker "$dir/$name.yaml")
  rows=$(chq "SELECT count() FROM $table")
  dead=$(( $(chq "SELECT count() FROM sensor_readings_errors") - errors_before ))
  [ "$rows" = "$(chq "SELECT uniqExact(seq) FROM $table")" ] || echo "WARNING: duplicates in $table" >&2

  chq "CREATE TABLE ${table}_unchained AS sensor_readings" >/dev/null
  sed -e "s|    table: $table\$|    table: ${table}_unchained|" -e "s|^chain_transforms: true|chain_transforms: false|" \
    "$dir/$name.yaml" > "$dir/$name-unchained.yaml"
  grep -q "^chain_transforms: false" "$dir/$name-unchained.yaml" || { echo "pipelines/sensors.yaml no longer sets chain_transforms: true" >&2; return 1; }
  local u_s u_rss u_cpu u_rows errors_before_unchained
  errors_before_unchained=$(chq "SELECT count() FROM sensor_readings_errors")
  read -r u_s u_rss u_cpu < <(PULSAR_URL=$pulsar PULSAR_TOPIC=$topic PULSAR_SUBSCRIPTION=bench-unchained CLICKHOUSE_URL=$ch SLUICE_CHECKPOINT_DIR=$dir/ck-$name-unchained SLUICE_CHECKPOINT_INTERVAL=1s \
    measure "$dir/sluice-$name-unchained" "$bin/sluice" worker "$dir/$name-unchained.yaml")
  u_rows=$(( $(chq "SELECT count() FROM ${table}_unchained") + $(chq "SELECT count() FROM sensor_readings_errors") - errors_before_unchained ))

  local p_s p_rss p_cpu p_rows
  read -r p_s p_rss p_cpu < <(measure "$dir/python-$name" "$python" Tests/Fixtures/bench/python_pipeline.py "$pulsar" "$topic" bench-python "$ch" "${table}_py" "$n")
  p_rows=$(chq "SELECT count() FROM ${table}_py")

  cat > "$dir/consume-$name.yaml" <<YAML
name: bench-consume-$name
source: { plugin: pulsar-source, config: { service_url: "$pulsar", topic: "$topic", subscription: bench-consume, receiver_queue_size: 2000, stop_after_messages: $n } }
sink: { plugin: null-sink }
checkpointing: { interval: 1s, directory: $dir/ck-consume-$name }
YAML
  local c_s c_rss c_cpu
  read -r c_s c_rss c_cpu < <(measure "$dir/consume-$name" "$bin/sluice" worker "$dir/consume-$name.yaml")
  curl -sS --fail-with-body "$ch/" --data-binary "SELECT * FROM $table FORMAT Native" -o "$dir/rows.native"
  local i_s
  settle
  i_s=$(python3 - "$ch" "$dir/rows.native" "${table}_curl" <<'PY'
import subprocess, sys, time, urllib.parse
t = time.monotonic()
subprocess.check_call(["curl", "-sS", "--fail-with-body", "--data-binary", "@" + sys.argv[2],
                       sys.argv[1] + "/?query=" + urllib.parse.quote(f"INSERT INTO {sys.argv[3]} FORMAT Native")])
print(f"{time.monotonic() - t:.3f}")
PY
)
  rm -f "$dir/rows.native"
  python3 - <<PY
name, n, rows, dead, p_rows = "$name", $n, $rows, $dead, $p_rows
s, p, c, i = (rows + dead) / $s_s, p_rows / $p_s, n / $c_s, rows / $i_s
limit = min(c, i)
# Consuming alone leaves ClickHouse idle, and inserting alone the broker: on a machine whose cores
# the broker, ClickHouse and sluice share, the three run at once, and the bound is the two stages
# one after the other on the same cores.
shared = 1 / (1 / c + 1 / i)
s_cpu, p_cpu = $s_cpu / (rows + dead) * 1e6, $p_cpu / max(1, p_rows) * 1e6
print(f"[{name}] sluice (exactly-once, checkpoint/s): {s:>11,.0f} rows/s  {$s_s:6.2f} s  peak RSS {$s_rss/1024:6.1f} MB  CPU {$s_cpu:.2f} s = {s_cpu:.2f} us/row  ({rows} rows, {dead} dead letters)")
u = $u_rows / $u_s
print(f"[{name}] sluice, parser unchained:            {u:>11,.0f} rows/s  {$u_s:6.2f} s  peak RSS {$u_rss/1024:6.1f} MB  CPU {$u_cpu:.2f} s = {$u_cpu / max(1, $u_rows) * 1e6:.2f} us/row  ({$u_rows} rows and dead letters)")
u_cpu = $u_cpu / max(1, $u_rows) * 1e6
print(f"[{name}] chained against unchained: CPU per row {(s_cpu / u_cpu - 1) * 100:+.0f} %, rows/s {(s / u - 1) * 100:+.0f} %, peak RSS {($s_rss - $u_rss) / 1024:+.1f} MB")
print(f"[{name}] python by hand (20k-row inserts):    {p:>11,.0f} rows/s  {$p_s:6.2f} s  peak RSS {$p_rss/1024:6.1f} MB  CPU {$p_cpu:.2f} s = {p_cpu:.2f} us/row  ({p_rows} rows)")
print(f"[{name}] consuming alone (sluice, null sink): {c:>11,.0f} msg/s  CPU {$c_cpu / n * 1e6:.2f} us/msg")
print(f"[{name}] inserting alone (curl, Native):      {i:>11,.0f} rows/s")
print(f"[{name}] CPU per row {s_cpu:.2f} us (target <= 2.0; python {p_cpu:.2f} us, {p_cpu / s_cpu:.1f}x sluice's);"
      f" {s / limit * 100:.0f} % of the limit (target >= 85 %), {s / shared * 100:.0f} % of the stages in series ({shared:,.0f}/s); sluice / python = {s / p:.2f}x;"
      f" worker peak RSS {$s_rss/1024:.0f} MB (target <= 64 MB)")
PY
}

# e2e_tls N: the sensors backlog over TLS on both sides, against plaintext in the same run.
e2e_tls() {
  local n=$1 dir="$work/e2e"
  chq "CREATE TABLE readings_tls AS sensor_readings" >/dev/null
  sensors_pipeline readings_tls "$n" "$dir/tls-base.yaml"
  sed -e "s|    receiver_queue_size: 2000|    receiver_queue_size: 2000\n    tls_trust_certs_file: $certs/ca.pem|" \
      -e "s|    table: readings_tls\$|    table: readings_tls\n    tls: { ca_file: \"$certs/ca.pem\" }|" \
      -e "s|    table: sensor_readings_errors|    table: sensor_readings_errors\n    tls: { ca_file: \"$certs/ca.pem\" }|" \
      "$dir/tls-base.yaml" > "$dir/tls.yaml"
  local t_s t_rss t_cpu t_rows
  read -r t_s t_rss t_cpu < <(PULSAR_URL=$pulsar_tls CLICKHOUSE_URL=$ch_tls PULSAR_SUBSCRIPTION=bench-tls SLUICE_CHECKPOINT_DIR=$dir/ck-tls SLUICE_CHECKPOINT_INTERVAL=1s \
    measure "$dir/sluice-tls" "$bin/sluice" worker "$dir/tls.yaml")
  t_rows=$(chq "SELECT count() FROM readings_tls")
  python3 - <<PY
t = $t_rows / $t_s
print(f"[sensors] sluice over TLS (both sides):   {t:>11,.0f} rows/s  {$t_s:6.2f} s  peak RSS {$t_rss/1024:6.1f} MB  CPU {$t_cpu:.2f} s = {$t_cpu/max(1, $t_rows)*1e6:.2f} us/row")
PY
}

# e2e_supervisor N: `sluice run` (supervisor and worker) over N readings of the sensors
# backlog; the peak RSS (VmHWM) of each process, sampled every 50 ms. `sluice run` checks the
# pipeline, then becomes `sluice-supervisor` (exec, same pid, a new peak): the check's peak and
# the supervisor's are reported apart.
e2e_supervisor() {
  local n=$1 dir="$work/e2e"
  chq "CREATE TABLE readings_run AS sensor_readings" >/dev/null
  sensors_pipeline readings_run "$n" "$dir/run.yaml"
  PULSAR_URL=$pulsar CLICKHOUSE_URL=$ch PULSAR_SUBSCRIPTION=bench-run SLUICE_CHECKPOINT_DIR=$dir/ck-run SLUICE_CHECKPOINT_INTERVAL=1s \
    python3 - "$bin/sluice" "$dir/run.yaml" "$dir/run.log" <<'PY'
import os, subprocess, sys, time
def hwm(pid):
    try:
        return int(next(l for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM")).split()[1])
    except (OSError, StopIteration):
        return 0
def own(pid):
    """(private kB, proportional kB): the pages only this process holds, and its share of the
    pages it shares (the Swift runtime, Foundation and libc pages it maps with the worker)."""
    try:
        fields = {l.split(":")[0]: int(l.split()[1]) for l in open(f"/proc/{pid}/smaps_rollup") if l.split(":")[0] in
                  ("Private_Clean", "Private_Dirty", "Pss")}
        return fields["Private_Clean"] + fields["Private_Dirty"], fields["Pss"]
    except (OSError, KeyError, ValueError):
        return 0, 0
def children(pid):
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            out += [int(c) for c in open(f"/proc/{pid}/task/{task}/children").read().split()]
        except OSError:
            pass
    return out
def supervising(pid):
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe")) == "sluice-supervisor"
    except OSError:
        return False
sup = subprocess.Popen([sys.argv[1], "run", sys.argv[2]], stdout=open(sys.argv[3], "w"), stderr=subprocess.STDOUT)
peak_check = peak_sup = peak_worker = 0
beside_worker = []  # (private, pss) of the supervisor, sampled while a worker runs
while sup.poll() is None:
    if supervising(sup.pid):
        peak_sup = max(peak_sup, hwm(sup.pid))
    else:
        peak_check = max(peak_check, hwm(sup.pid))
    workers = children(sup.pid) if sup.poll() is None else []
    for child in workers:
        peak_worker = max(peak_worker, hwm(child))
    if workers:
        beside_worker.append(own(sup.pid))
    time.sleep(0.05)
if sup.returncode != 0:
    sys.exit("sluice run exited %d:\n%s" % (sup.returncode, open(sys.argv[3]).read()[-3000:]))
# Pages are private while no other process maps them: before the worker starts, the supervisor
# holds the shared libraries alone. Its own share is what it keeps while a worker runs.
privates = sorted(p for p, _ in beside_worker) or [0]
shares = sorted(q for _, q in beside_worker) or [0]
private, pss = privates[len(privates) // 2], shares[len(shares) // 2]
print(f"sluice run: supervisor peak RSS {peak_sup / 1024:.1f} MB (target <= 16 MB; the check before it, {peak_check / 1024:.1f} MB); while the worker runs"
      f" (median of {len(beside_worker)} samples) its private pages {private / 1024:.1f} MB and its proportional share (PSS) {pss / 1024:.1f} MB;"
      f" worker peak RSS {peak_worker / 1024:.1f} MB (target <= 64 MB)")
PY
}

# e2e_freshness: readings produced at a steady rate with ts = their send time; a poller
# records when ClickHouse's row count grows (every 20 ms), so each row's visible time is the
# first poll that counts it (rows commit in publish order: one partition, one subscription).
e2e_freshness() {
  local rate=${E2E_RATE:-50000} seconds=${E2E_FRESH_SECONDS:-10} dir="$work/e2e" count
  count=$((rate * seconds))
  for interval in 1s 250ms; do
    local table="fresh_${interval}" topic="persistent://public/default/fresh-$interval"
    chq "CREATE TABLE $table (seq UInt64, ts UInt64) ENGINE = MergeTree ORDER BY seq" >/dev/null
    cat > "$dir/fresh-$interval.yaml" <<YAML
name: fresh-$interval
source: { plugin: pulsar-source, config: { service_url: "$pulsar", topic: "$topic", subscription: fresh, receiver_queue_size: 2000, stop_after_messages: $count } }
transforms:
  - plugin: sensor-parser
    config: { payload_column: payload, columns: [ { name: seq, type: uint64 }, { name: ts, type: uint64 } ] }
sink: { plugin: clickhouse-sink, config: { url: "$ch", table: $table } }
checkpointing: { interval: $interval, directory: $dir/ck-fresh-$interval, mode: exactly-once }
YAML
    "$bin/sluice" worker "$dir/fresh-$interval.yaml" > "$dir/fresh-$interval.log" 2>&1 &
    local worker=$!
    python3 - "$ch" "$table" "$dir/timeline-$interval" "$count" <<'PY' &
import sys, time, urllib.request
ch, table, out, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with open(out, "w") as f:
    deadline = time.time() + 600
    while time.time() < deadline:
        n = int(urllib.request.urlopen(ch + "/", f"SELECT count() FROM {table}".encode()).read())
        f.write(f"{time.time() * 1000:.0f} {n}\n")
        if n >= count:
            break
        time.sleep(0.02)
PY
    local poller=$!
    sleep 1  # the worker subscribes before the stream starts
    "$bin/sluice" produce --url "$pulsar" --topic "$topic" --count "$count" --rate "$rate" --template sensors --now-timestamps --batch-size 1000 > "$dir/produce-$interval.log" 2>&1
    wait "$worker" || { echo "freshness worker ($interval) failed:"; tail -20 "$dir/fresh-$interval.log"; }
    wait "$poller"
    curl -sS --fail-with-body "$ch/" --data-binary "SELECT seq, ts FROM $table ORDER BY seq FORMAT TSV" > "$dir/rows-$interval.tsv"
    python3 - "$dir/timeline-$interval" "$dir/rows-$interval.tsv" "$interval" "$rate" <<'PY'
import sys
timeline = [tuple(map(int, l.split())) for l in open(sys.argv[1])]
ts = [int(l.split()[1]) for l in open(sys.argv[2])]
latencies, j = [], 0
for r, t in enumerate(ts):
    while j < len(timeline) and timeline[j][1] <= r:
        j += 1
    if j < len(timeline):
        latencies.append(timeline[j][0] - t)
latencies.sort()
q = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))]
print(f"freshness at {sys.argv[3]} checkpoints, {int(sys.argv[4]):,} readings/s: publish-to-visible p50 {q(0.5)} ms, p99 {q(0.99)} ms, max {latencies[-1]} ms ({len(latencies):,} rows, polled every 20 ms)")
PY
  done
}
