# shellcheck shell=bash
# Pulsar part of scripts/bench: sluice's consumer against the official Python client reading
# the same sensor messages from the same pulsar-lite broker, in the same run.
#
#   BENCH_PULSAR_COUNT   messages (default 1000000)

# peak_rss_mb PID: the peak resident set (VmHWM) of a process that is still running, in MB.
pulsar_cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# pulsar_measure NAME BROKER_PID COMMAND...: runs COMMAND, samples its VmHWM and the CPU time of
# it and of the broker; prints "seconds peak_rss_mb cpu_seconds broker_cpu_seconds" on fd 3.
pulsar_measure() {
  local name=$1 broker=$2; shift 2
  local b0 t0 pid hwm=0 v cpu=0
  b0=$(pulsar_cpu_ticks "$broker")
  t0=$(date +%s.%N)
  "$@" > "$work/$name.out" 2> "$work/$name.err" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    v=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
    c=$(pulsar_cpu_ticks "$pid"); [ -n "$c" ] && [ "$c" -gt "$cpu" ] && cpu=$c
    sleep 0.05
  done
  wait "$pid" || { echo "$name failed:" >&2; tail -20 "$work/$name.err" >&2; return 1; }
  local t1 b1
  t1=$(date +%s.%N)
  b1=$(pulsar_cpu_ticks "$broker")
  python3 -c "print($t1 - $t0, $hwm / 1024, $cpu / $(getconf CLK_TCK), ($b1 - $b0) / $(getconf CLK_TCK))"
}

pulsar() {
  local count=${BENCH_PULSAR_COUNT:-1000000}
  echo
  echo "== pulsar: sluice consumer vs the official Python client (pulsar-client), $count sensor messages, one pulsar-lite broker =="
  bash scripts/services/pulsar.sh install
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local url="pulsar://127.0.0.1:$port" broker_dir="$work/pulsar"
  bash scripts/services/pulsar.sh start "$broker_dir" "$port"
  trap 'bash scripts/services/pulsar.sh stop "$broker_dir"; rm -rf "$work"' EXIT
  local broker_pid
  broker_pid=$(cat "$broker_dir/pid")

  echo "producing $count messages with sluice produce (batches of 1000, LZ4)..."
  "$bin/sluice" produce --url "$url" --topic bench-sensors --count "$count" --template sensors \
      --batch-size 1000 --compression lz4 2> "$work/produce.err" | tail -1

  cat > "$work/pulsar-bench.yaml" <<YAML
name: bench-pulsar
source:
  plugin: pulsar-source
  config: { service_url: "$url", topic: bench-sensors, subscription: bench-sluice, stop_after_messages: $count, receiver_queue_size: 5000 }
sink: { plugin: null-sink }
checkpointing: { interval: 1s, directory: $work/ck-pulsar, retained: 2 }
queue_capacity: 16
YAML
  local s_sec s_rss s_cpu s_bcpu p_sec p_rss p_cpu p_bcpu
  read -r s_sec s_rss s_cpu s_bcpu < <(pulsar_measure sluice "$broker_pid" "$bin/sluice" worker "$work/pulsar-bench.yaml")
  read -r p_sec p_rss p_cpu p_bcpu < <(pulsar_measure python "$broker_pid" .venv/bin/python Tests/Fixtures/pulsar/consume_bench.py "$url" bench-sensors bench-python "$count")
  grep -h "consumed" "$work/python.out" || true
  python3 - <<PY
count = $count
s_rate, p_rate = count / $s_sec, count / $p_sec
print(f"sluice  (pulsar-source -> null-sink): {s_rate:>12,.0f} msg/s  {$s_sec:6.2f} s  peak RSS {$s_rss:6.1f} MB  CPU {$s_cpu:5.1f} s  broker CPU {$s_bcpu:5.1f} s ({$s_bcpu/$s_sec*100:4.0f} % of a core)")
print(f"official Python client:              {p_rate:>12,.0f} msg/s  {$p_sec:6.2f} s  peak RSS {$p_rss:6.1f} MB  CPU {$p_cpu:5.1f} s  broker CPU {$p_bcpu:5.1f} s ({$p_bcpu/$p_sec*100:4.0f} % of a core)")
print(f"ratio: sluice reads {s_rate/p_rate:.2f}x the official client's rate (target >= 2x) with {$s_rss/$p_rss*100:.0f} % of its memory (target <= 64 MB: {'met' if $s_rss <= 64 else 'NOT met'})")
print(f"per CPU second (not distorted by other load on the machine): sluice {count/$s_cpu:,.0f} msg, official client {count/$p_cpu:,.0f} msg: {$p_cpu/$s_cpu:.2f}x")
print(f"sluice's own CPU was {$s_cpu/$s_sec*100:.0f} % of a core while the broker used {$s_bcpu/$s_sec*100:.0f} %")
PY
  bash scripts/services/pulsar.sh stop "$broker_dir"
  trap 'rm -rf "$work"' EXIT
}
