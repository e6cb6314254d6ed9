# shellcheck shell=bash
# scripts/bench e2e: the seed's job end to end, in one run on the same local pulsar-lite and
# ClickHouse (started for the run), from a backlog of E2E_MESSAGES (default 1,000,000) sensor
# readings:
#   sluice      pipelines/sensors.yaml, exactly-once, checkpoints every second (release build)
#   sluice TLS  the same over TLS on both sides (pulsar+ssl through stunnel, ClickHouse's HTTPS),
#               a fresh subscription into a copy of the table
#   python      the pipeline a user would write by hand: official client, json.loads, an HTTP
#               insert every 20,000 rows, cumulative ack after each insert
#   limit       the slower of consuming alone (sluice's Pulsar source into a null sink) and
#               inserting alone (curl posting the same rows to ClickHouse as one Native file)
# plus sluice's and Python's peak resident memory, and the sensor parser alone on one core.
e2e() {
  echo
  echo "== e2e: Pulsar -> sensor parser -> ClickHouse, exactly-once =="
  local n=${E2E_MESSAGES:-1000000} dir="$work/e2e" python=.venv/bin/python
  start_services "$dir"
  local topic=persistent://public/default/sensors
  chq() { curl -sS --fail-with-body "$ch/" --data-binary "$1"; }
  chq "CREATE TABLE sensor_readings_py AS sensor_readings" >/dev/null
  echo "producing $n readings..."
  "$bin/sluice" produce --url "$pulsar" --topic "$topic" --count "$n" --template sensors --compression lz4 2>&1 | tail -1

  # measure NAME COMMAND... -> "seconds peak_rss_kb cpu_seconds" of a child process
  measure() {
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

  # sluice: the real pipeline file, ending after the backlog (stop_after_messages).
  sed -e "s|    receiver_queue_size: 2000|    receiver_queue_size: 2000\n    stop_after_messages: $n|" pipelines/sensors.yaml > "$dir/sensors.yaml"
  local s_s s_rss s_cpu
  read -r s_s s_rss s_cpu < <(PULSAR_URL=$pulsar CLICKHOUSE_URL=$ch SLUICE_CHECKPOINT_DIR=$dir/ck SLUICE_CHECKPOINT_INTERVAL=1s \
    measure "$dir/sluice" "$bin/sluice" worker "$dir/sensors.yaml")
  local rows
  rows=$(chq "SELECT count() FROM sensor_readings")
  [ "$rows" = "$(chq 'SELECT uniqExact(seq) FROM sensor_readings')" ] || echo "WARNING: duplicates in sensor_readings" >&2

  # sluice over TLS on both sides: the same file with the CA added to each connection.
  chq "CREATE TABLE sensor_readings_tls AS sensor_readings" >/dev/null
  sed -e "s|    receiver_queue_size: 2000|    receiver_queue_size: 2000\n    tls_trust_certs_file: $certs/ca.pem|" \
      -e "s|    table: sensor_readings\$|    table: sensor_readings_tls\n    tls: { ca_file: \"$certs/ca.pem\" }|" \
      -e "s|    table: sensor_readings_errors|    table: sensor_readings_errors\n    tls: { ca_file: \"$certs/ca.pem\" }|" \
      "$dir/sensors.yaml" > "$dir/sensors-tls.yaml"
  local t_s t_rss t_cpu t_rows
  read -r t_s t_rss t_cpu < <(PULSAR_URL=$pulsar_tls CLICKHOUSE_URL=$ch_tls PULSAR_SUBSCRIPTION=bench-tls SLUICE_CHECKPOINT_DIR=$dir/ck-tls SLUICE_CHECKPOINT_INTERVAL=1s \
    measure "$dir/sluice-tls" "$bin/sluice" worker "$dir/sensors-tls.yaml")
  t_rows=$(chq "SELECT count() FROM sensor_readings_tls")

  # python: a fresh subscription on the same topic.
  local p_s p_rss p_cpu
  read -r p_s p_rss p_cpu < <(measure "$dir/python" "$python" Tests/Fixtures/bench/python_pipeline.py "$pulsar" "$topic" bench-python "$ch" sensor_readings_py "$n")

  # limit, consuming alone: sluice's Pulsar source into a null sink.
  cat > "$dir/consume.yaml" <<YAML
name: bench-consume
source: { plugin: pulsar-source, config: { service_url: "$pulsar", topic: "$topic", subscription: bench-consume, receiver_queue_size: 2000, stop_after_messages: $n } }
sink: { plugin: null-sink }
checkpointing: { interval: 1s, directory: $dir/ck-consume }
YAML
  local c_s c_rss c_cpu
  read -r c_s c_rss c_cpu < <(measure "$dir/consume" "$bin/sluice" worker "$dir/consume.yaml")
  # limit, inserting alone: the same rows as one Native file, posted with curl.
  curl -sS --fail-with-body "$ch/" --data-binary "SELECT * FROM sensor_readings FORMAT Native" -o "$dir/rows.native"
  chq "CREATE TABLE sensor_readings_curl AS sensor_readings"
  local i_s
  i_s=$(python3 - "$ch" "$dir/rows.native" <<'PY'
import subprocess, sys, time, urllib.parse
t = time.monotonic()
subprocess.check_call(["curl", "-sS", "--fail-with-body", "--data-binary", "@" + sys.argv[2],
                       sys.argv[1] + "/?query=" + urllib.parse.quote("INSERT INTO sensor_readings_curl FORMAT Native")])
print(f"{time.monotonic() - t:.3f}")
PY
)
  python3 - <<PY
n, rows = $n, $rows
s, p, c, i = rows / $s_s, $(chq "SELECT count() FROM sensor_readings_py") / $p_s, $n / $c_s, rows / $i_s
limit = min(c, i)
# CPU per row (getrusage of the child) is steadier than wall time on a shared machine.
print(f"sluice (exactly-once, checkpoint/s): {s:>11,.0f} rows/s  {$s_s:6.2f} s  peak RSS {$s_rss/1024:6.1f} MB  CPU {$s_cpu:.1f} s = {$s_cpu/rows*1e6:.2f} us/row")
t = $t_rows / $t_s
print(f"sluice over TLS (both sides):        {t:>11,.0f} rows/s  {$t_s:6.2f} s  peak RSS {$t_rss/1024:6.1f} MB  CPU {$t_cpu:.1f} s = {$t_cpu/max(1, $t_rows)*1e6:.2f} us/row"
      f"  (TLS / plaintext: {t/s:.2f}x rows/s, {($t_cpu/max(1, $t_rows))/($s_cpu/rows):.2f}x CPU per row)")
print(f"python by hand (20k-row inserts):    {p:>11,.0f} rows/s  {$p_s:6.2f} s  peak RSS {$p_rss/1024:6.1f} MB  CPU {$p_cpu:.1f} s = {$p_cpu/max(1, $(chq "SELECT count() FROM sensor_readings_py"))*1e6:.2f} us/row")
print(f"consuming alone (sluice, null sink): {c:>11,.0f} msg/s")
print(f"inserting alone (curl, Native):      {i:>11,.0f} rows/s")
print(f"sluice / python = {s/p:.2f}x (target >= 3x); sluice / limit = {s/limit*100:.0f} % (target >= 70 %); sluice peak RSS {$s_rss/1024:.0f} MB (target <= 100 MB)")
PY
}
