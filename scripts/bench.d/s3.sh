# shellcheck shell=bash
# scripts/bench s3: what keeping checkpoints and staged epochs on S3-compatible storage costs.
# The sensor pipeline (release build, exactly-once, checkpoints every second) drains the same
# backlog of S3_MESSAGES (default 1,500,000) readings six times in one run, alternating state
# in a local directory and state on moto_server (on loopback, in memory: an object store with
# no network between, so the figures are sluice's and the protocol's, not a WAN's), so that
# neither gains from going second. Prints for each: the median rows/s, the median CPU per row
# (getrusage of the worker), and the p50/p99 checkpoint duration over every periodic
# checkpoint of its three runs (barrier to durable manifest, from the worker's log).
s3() {
  echo
  echo "== s3: the sensor pipeline with its state on local disk and on S3 (moto_server), alternating =="
  local n=${S3_MESSAGES:-1500000} dir="$work/s3"
  start_services "$dir"
  local s3port
  s3port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  bash scripts/services/s3.sh start "$dir/s3" "$s3port"
  # shellcheck disable=SC2064
  trap "bash scripts/services/s3.sh stop '$dir/s3'; bash scripts/services/pulsar.sh stop '$dir/pulsar'; bash scripts/services/clickhouse.sh stop '$dir/clickhouse'; bash scripts/services/tls.sh stunnel-stop '$dir/stunnel'; rm -rf '$work'" EXIT
  curl -sf -X PUT "http://127.0.0.1:$s3port/bench" >/dev/null
  local topic=persistent://public/default/sensors
  chq() { curl -sS --fail-with-body "$ch/" --data-binary "$1"; }
  echo "producing $n readings..."
  "$bin/sluice" produce --url "$pulsar" --topic "$topic" --count "$n" --template sensors --compression lz4 2>&1 | tail -1
  sed -e "s|    receiver_queue_size: 2000|    receiver_queue_size: 2000\n    stop_after_messages: $n|" pipelines/sensors.yaml > "$dir/base.yaml"
  local results="$dir/results"
  : > "$results"
  local i=0
  for kind in local s3 s3 local local s3; do
    i=$((i + 1))
    chq "CREATE TABLE sensor_readings_$i AS sensor_readings" >/dev/null
    sed -e "s|    table: sensor_readings\$|    table: sensor_readings_$i|" "$dir/base.yaml" > "$dir/run$i.yaml"
    local state=$dir/ck$i
    [ "$kind" = s3 ] && state=s3://bench/run$i
    PULSAR_URL=$pulsar CLICKHOUSE_URL=$ch PULSAR_SUBSCRIPTION=bench-$i SLUICE_CHECKPOINT_DIR=$state SLUICE_LOCAL_DIR=$dir/local$i \
      SLUICE_CHECKPOINT_INTERVAL=1s AWS_ENDPOINT_URL=http://127.0.0.1:$s3port AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench \
      timed_worker "$kind" "$dir/run$i.log" "$bin/sluice" worker "$dir/run$i.yaml" >> "$results"
    local rows
    rows=$(chq "SELECT count() FROM sensor_readings_$i")
    [ "$rows" = "$n" ] || { echo "run $i ($kind) wrote $rows rows, not $n" >&2; exit 1; }
  done
  python3 - "$results" "$n" <<'PY'
import statistics, sys
n = int(sys.argv[2])
runs = [line.split() for line in open(sys.argv[1])]
def median(kind, f):
    return statistics.median(f(float(s), float(c)) for k, s, c, _ in runs if k == kind)
def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")
for kind, label in (("local", "local disk"), ("s3", "S3 (moto)")):
    rates = ", ".join(f"{n/float(s):,.0f}" for k, s, c, _ in runs if k == kind)
    ms = [float(x) for k, _, _, d in runs if k == kind and d != "-" for x in d.split(",")]
    print(f"{label:<10} median {median(kind, lambda s, c: n/s):>9,.0f} rows/s  {median(kind, lambda s, c: c/n*1e6):.2f} us CPU/row  "
          f"checkpoints p50 {percentile(ms, 50):.1f} ms p99 {percentile(ms, 99):.1f} ms ({len(ms)})  (runs: {rates} rows/s)")
print(f"S3 / local: {median('s3', lambda s, c: n/s) / median('local', lambda s, c: n/s):.2f}x rows/s, "
      f"{median('s3', lambda s, c: c/n) / median('local', lambda s, c: c/n):.2f}x CPU per row")
PY
}
