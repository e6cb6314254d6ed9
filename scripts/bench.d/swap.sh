# shellcheck shell=bash
# Sink hot-swap: how long input stalls during a swap, over 20 swaps of a running pipeline
# (C sequence source at 50,000 rows/s -> file sink), alternating between two output folders.
# The stall that matters is the time from the old sink's commit of the last epoch to the new
# sink taking data; the whole pause (from the barrier) is printed beside it.
swap() {
  echo
  echo "== swap: 20 sink swaps on a running pipeline =="
  local port token dir
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  token=bench-$RANDOM$RANDOM
  dir=$work/swap
  mkdir -p "$dir"
  cat > "$dir/pipeline.yaml" <<YAML
name: bench-swap
source: { plugin: $work/libsequence-source.so, config: { count: 0, batch_size: 500, rate: 50000 } }
sink: { plugin: file-sink, config: { directory: $dir/out-0 } }
checkpointing: { interval: 1s, directory: $dir/ck }
admin: { address: "127.0.0.1:$port" }
YAML
  SLUICE_ADMIN_TOKEN=$token "$bin/sluice" run "$dir/pipeline.yaml" 2> "$dir/log" &
  local pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  : > "$dir/answers"
  for i in $(seq 1 20); do
    curl -sf -H "Authorization: Bearer $token" -X POST "http://127.0.0.1:$port/sink" \
      -d "{\"plugin\": \"file-sink\", \"config_yaml\": \"directory: $dir/out-$((i % 2))\"}" | jq -c . >> "$dir/answers" || { echo "swap $i failed"; cat "$dir/log"; }
    sleep 0.3
  done
  kill -TERM "$pid"; wait "$pid" || true
  python3 - "$dir/answers" <<'PY'
import json, sys, statistics
answers = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
after = sorted(a["stall_ms_beyond_commit"] for a in answers)
paused = sorted(a["paused_ms"] for a in answers)
p50 = lambda v: statistics.median(v)
print(f"swaps completed: {len(answers)} of 20")
print(f"input stall beyond the commit of the last epoch: p50 {p50(after):.2f} ms, max {after[-1]:.2f} ms (target < 100 ms: {100/after[-1]:.0f}x under)")
print(f"whole pause from the barrier (includes writing the checkpoint and the old sink's commit): p50 {p50(paused):.2f} ms, max {paused[-1]:.2f} ms")
PY
}
