# shellcheck shell=bash
# scripts/bench scale: lanes on this machine's cores.
#   cpu     no broker: the line source replays 200,000 sensor readings (SCALE_REPEAT times,
#           default 30) through the sensor parser into a null sink, with 1 lane and with 2
#           lanes, SCALE_RUNS (default 5) runs each, interleaved; the ratio of the medians
#           (target >= 1.7x on 2 cores), with CPU per row from getrusage.
#   sensors pipelines/sensors.yaml on a 4-partition topic holding SCALE_MESSAGES (default
#           2,000,000) readings, with 1 and with 2 lanes, each until ClickHouse holds them all;
#           with the CPU the broker and ClickHouse used meanwhile, since all share the cores.
scale() {
  echo
  echo "== scale: 1 lane against 2 lanes =="
  local dir="$work/scale" runs=${SCALE_RUNS:-5} repeat=${SCALE_REPEAT:-30}
  mkdir -p "$dir"
  python3 - "$dir/readings.jsonl" <<'PY'
import json, random, sys
rng = random.Random(7)
with open(sys.argv[1], "w") as f:
    for i in range(1, 200001):
        r = {"sensor_id": f"sensor-{i % 1000:04d}", "ts": 1764100000000 + i, "temperature": round(rng.uniform(-20, 45), 2),
             "battery": rng.randint(0, 100), "status": rng.choice(["ok", "warn"]),
             "location": {"site": f"plant-{i % 7}", "lat": 52.52, "lon": 13.4}, "seq": i}
        if i % 5:
            r["humidity"] = round(rng.uniform(10, 90), 1)
        f.write(json.dumps(r, separators=(",", ":")) + "\n")
PY
  local parser
  parser=$(sed -n '/^  - plugin: sensor-parser/,/^sink:/p' pipelines/sensors.yaml | sed '$d')
  # cpu_run LANES RUN -> "seconds rows cpu_seconds"
  cpu_run() {
    local lanes=$1 run=$2
    cat > "$dir/cpu-$lanes.yaml" <<YAML
name: bench-scale-$lanes
parallelism: $lanes
source: { plugin: line-source, config: { path: $dir/readings.jsonl, repeat: $repeat, batch_size: 4096 } }
transforms:
$parser
sink: { plugin: null-sink }
checkpointing: { interval: 1s, directory: $dir/ck-cpu-$lanes-$run }
YAML
    python3 - "$bin/sluice" "$dir/cpu-$lanes.yaml" "$dir/cpu-$lanes-$run.log" <<'PY'
import re, resource, subprocess, sys
with open(sys.argv[3], "w") as log:
    status = subprocess.call([sys.argv[1], "worker", sys.argv[2]], stderr=log)
text = open(sys.argv[3]).read()
if status != 0:
    sys.exit(f"worker exited {status}:\n{text[-3000:]}")
m = re.search(r"ran for ([0-9.]+) s; rows per operator: (.*)", text)
rows = sum(int(x) for x in re.findall(r"source (\d+)", m.group(2)))
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(m.group(1), rows, f"{u.ru_utime + u.ru_stime:.3f}")
PY
  }
  local results=()
  for run in $(seq 1 "$runs"); do
    results+=("1 $(cpu_run 1 "$run")" "2 $(cpu_run 2 "$run")")
  done
  printf '%s\n' "${results[@]}" | python3 -c "
import statistics, sys
runs = {1: [], 2: []}
for line in sys.stdin:
    lanes, s, rows, cpu = line.split()
    runs[int(lanes)].append((int(rows) / float(s), float(cpu) / int(rows) * 1e6))
med = {k: (statistics.median(r for r, _ in v), statistics.median(c for _, c in v)) for k, v in runs.items()}
for k in (1, 2):
    print(f'cpu-bound, {k} lane{\"s\" if k > 1 else \" \"}: {med[k][0]:>11,.0f} readings/s  {med[k][1]:.2f} us CPU/row  (median of {len(runs[k])}: ' + ', '.join(f'{r:,.0f}' for r, _ in runs[k]) + ')')
print(f'2 lanes / 1 lane = {med[2][0] / med[1][0]:.2f}x (target >= 1.7x on 2 cores)')
"

  # The sensors pipeline on a partitioned topic.
  local n=${SCALE_MESSAGES:-2000000}
  start_services "$dir/services" 4
  chq() { curl -sS --fail-with-body "$ch/" --data-binary "$1"; }
  local topic=persistent://public/default/sensors-scale
  echo "producing $n readings over 4 partitions..."
  "$bin/sluice" produce --url "$pulsar" --topic "$topic" --count "$n" --template sensors --compression lz4 2>&1 | tail -1
  # sensors_run LANES -> "seconds sluice_cpu broker_cpu clickhouse_cpu"
  sensors_run() {
    local lanes=$1
    chq "TRUNCATE TABLE sensor_readings" >/dev/null
    PULSAR_URL=$pulsar PULSAR_TOPIC=$topic PULSAR_SUBSCRIPTION=scale-$lanes CLICKHOUSE_URL=$ch SLUICE_PARALLELISM=$lanes \
      SLUICE_CHECKPOINT_DIR=$dir/ck-sensors-$lanes SLUICE_CHECKPOINT_INTERVAL=1s \
      python3 - "$bin/sluice" "$ch" "$n" "$(cat "$dir/services/pulsar/pid")" "$(cat "$dir/services/clickhouse/pid")" "$dir/sensors-$lanes.log" <<'PY'
import os, resource, signal, subprocess, sys, time, urllib.request
sluice, ch, n, broker, clickhouse, logpath = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
tick = os.sysconf("SC_CLK_TCK")
def cpu(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
def count():
    return int(urllib.request.urlopen(ch + "/", b"SELECT count() FROM sensor_readings").read())
b0, c0 = cpu(broker), cpu(clickhouse)
t = time.monotonic()
log = open(logpath, "w")
p = subprocess.Popen([sluice, "run", "pipelines/sensors.yaml"], stderr=log)
while count() < n:
    if p.poll() is not None:
        sys.exit(f"sluice exited {p.returncode}:\n" + open(logpath).read()[-3000:])
    time.sleep(0.1)
elapsed = time.monotonic() - t
b1, c1 = cpu(broker), cpu(clickhouse)
p.send_signal(signal.SIGTERM)
p.wait()
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{elapsed:.3f} {u.ru_utime + u.ru_stime:.3f} {b1 - b0:.3f} {c1 - c0:.3f}")
PY
  }
  local one two
  one=$(sensors_run 1)
  [ "$(chq 'SELECT uniqExact(seq) FROM sensor_readings')" = "$n" ] || echo "WARNING: 1 lane: sensor_readings does not hold each reading once" >&2
  two=$(sensors_run 2)
  [ "$(chq 'SELECT uniqExact(seq) FROM sensor_readings')" = "$n" ] || echo "WARNING: 2 lanes: sensor_readings does not hold each reading once" >&2
  python3 - "$n" "$one" "$two" <<'PY'
import sys
n = int(sys.argv[1])
rows = {}
for lanes, text in ((1, sys.argv[2]), (2, sys.argv[3])):
    s, mine, broker, ch = map(float, text.split())
    rows[lanes] = n / s
    print(f"sensors, {lanes} lane{'s' if lanes > 1 else ' '}: {n / s:>11,.0f} rows/s  {s:6.2f} s  CPU: sluice {mine:5.1f} s ({mine / n * 1e6:.2f} us/row), broker {broker:5.1f} s, ClickHouse {ch:5.1f} s")
print(f"2 lanes / 1 lane = {rows[2] / rows[1]:.2f}x (broker, ClickHouse and sluice share 2 cores)")
PY
}
