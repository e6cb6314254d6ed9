# shellcheck shell=bash
# scripts/bench tls: what TLS on both sides costs. The sensor pipeline (release build,
# exactly-once, checkpoints every second) drains the same backlog of TLS_MESSAGES (default
# 500,000) readings six times in one run, alternating plaintext and TLS (pulsar+ssl through
# stunnel in front of pulsar-lite, ClickHouse's own HTTPS) so that neither gains from going
# second; each run has its own subscription and table. Prints the median rows/s and the median
# CPU per row (getrusage of the worker: sluice's own threads, not stunnel's or ClickHouse's) of
# each, and their ratios.
tls() {
  echo
  echo "== tls: the sensor pipeline in plaintext and over TLS on both sides, alternating =="
  local n=${TLS_MESSAGES:-500000} dir="$work/tls"
  start_services "$dir"
  local topic=persistent://public/default/sensors
  chq() { curl -sS --fail-with-body "$ch/" --data-binary "$1"; }
  echo "producing $n readings..."
  "$bin/sluice" produce --url "$pulsar" --topic "$topic" --count "$n" --template sensors --compression lz4 2>&1 | tail -1
  sed -e "s|    receiver_queue_size: 2000|    receiver_queue_size: 2000\n    stop_after_messages: $n|" pipelines/sensors.yaml > "$dir/plain.yaml"
  sed -e "s|    receiver_queue_size: 2000|    receiver_queue_size: 2000\n    tls_trust_certs_file: $certs/ca.pem|" \
      -e "s|    table: sensor_readings_errors|    table: sensor_readings_errors\n    tls: { ca_file: \"$certs/ca.pem\" }|" \
      -e "s|    table: sensor_readings\$|    table: sensor_readings\n    tls: { ca_file: \"$certs/ca.pem\" }|" \
      "$dir/plain.yaml" > "$dir/tls.yaml"
  local results="$dir/results"
  : > "$results"
  local i=0
  for kind in plain tls tls plain plain tls; do
    i=$((i + 1))
    chq "CREATE TABLE sensor_readings_$i AS sensor_readings" >/dev/null
    sed -e "s|    table: sensor_readings\$|    table: sensor_readings_$i|" "$dir/$kind.yaml" > "$dir/run$i.yaml"
    local url=$pulsar clickhouse=$ch
    if [ "$kind" = tls ]; then url=$pulsar_tls; clickhouse=$ch_tls; fi
    PULSAR_URL=$url CLICKHOUSE_URL=$clickhouse PULSAR_SUBSCRIPTION=bench-$i SLUICE_CHECKPOINT_DIR=$dir/ck$i SLUICE_CHECKPOINT_INTERVAL=1s \
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
for kind, label in (("plain", "plaintext"), ("tls", "TLS, both sides")):
    rates = ", ".join(f"{n/float(s):,.0f}" for k, s, c, _ in runs if k == kind)
    print(f"{label:<17} median {median(kind, lambda s, c: n/s):>9,.0f} rows/s  {median(kind, lambda s, c: c/n*1e6):.2f} us CPU/row  (runs: {rates} rows/s)")
print(f"TLS / plaintext: {median('tls', lambda s, c: n/s) / median('plain', lambda s, c: n/s):.2f}x rows/s, "
      f"{median('tls', lambda s, c: c/n) / median('plain', lambda s, c: c/n):.2f}x CPU per row")
PY
}
