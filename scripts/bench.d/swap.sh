# shellcheck shell=bash
# Sink hot-swap: how long input stalls during a swap, over 20 swaps of a running pipeline (C
# sequence source at 50,000 rows/s), alternating between two targets: two folders of the file
# sink, then two tables of the ClickHouse sink (exactly-once, a local ClickHouse 18.16).
# The new sink is opened beside the running one before the barrier (make before break), so the
# stall that matters is the time from the old sink's commit of the last epoch (its close
# returns) to the new sink taking data: target <= 20 ms p99 for ClickHouse. The whole pause from
# the barrier (it includes writing the checkpoint and the old sink's commit) is printed beside it.
swap() {
  echo
  echo "== swap: 20 sink swaps on a running pipeline, file sink then ClickHouse sink =="
  swap_case file-sink "directory: $work/swap-file/out-0" "directory: $work/swap-file/out-%d"
  for service in scripts/services/clickhouse.sh; do bash "$service" install >/dev/null; done
  local ports dir=$work/swap-ch
  read -r -a ports < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
  bash scripts/services/clickhouse.sh start "$dir/clickhouse" "${ports[0]}" "${ports[1]}" >/dev/null
  local ch="http://127.0.0.1:${ports[0]}"
  for t in numbers_0 numbers_1; do
    curl -sS --fail-with-body "$ch/" --data-binary "CREATE TABLE $t (value Int64) ENGINE = MergeTree ORDER BY value" >/dev/null
  done
  swap_case clickhouse-sink "{ url: \"$ch\", table: numbers_0 }" "{ url: \"$ch\", table: numbers_%d }"
  local total unique
  total=$(curl -sS "$ch/" --data-binary "SELECT count() FROM (SELECT value FROM numbers_0 UNION ALL SELECT value FROM numbers_1)")
  unique=$(curl -sS "$ch/" --data-binary "SELECT uniqExact(value) FROM (SELECT value FROM numbers_0 UNION ALL SELECT value FROM numbers_1)")
  echo "ClickHouse: $total rows over both tables, $unique distinct (exactly once across the swaps: $([ "$total" = "$unique" ] && echo yes || echo NO))"
  bash scripts/services/clickhouse.sh stop "$dir/clickhouse"
}

# swap_case PLUGIN FIRST_CONFIG CONFIG_PATTERN (%d: 0 or 1)
swap_case() {
  local plugin=$1 first=$2 pattern=$3
  local port token dir=$work/swap-$plugin
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  token=bench-$RANDOM$RANDOM
  mkdir -p "$dir"
  cat > "$dir/pipeline.yaml" <<YAML
name: bench-swap
source: { plugin: $work/libsequence-source.so, config: { count: 0, batch_size: 500, rate: 50000 } }
sink: { plugin: $plugin, config: $( [ "${first#\{}" = "$first" ] && echo "{ $first }" || echo "$first" ) }
checkpointing: { interval: 1s, directory: $dir/ck }
admin: { address: "127.0.0.1:$port" }
YAML
  SLUICE_ADMIN_TOKEN=$token "$bin/sluice" run "$dir/pipeline.yaml" 2> "$dir/log" &
  local pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  sleep 1
  mkdir -p "$dir/answers"
  for i in $(seq 1 20); do
    # shellcheck disable=SC2059
    local config
    config=$(printf "$pattern" $((i % 2)))
    python3 -c 'import json,sys; print(json.dumps({"plugin": sys.argv[1], "config_yaml": sys.argv[2]}))' "$plugin" "$config" > "$dir/request"
    curl -sf -H "Authorization: Bearer $token" -X POST "http://127.0.0.1:$port/sink" -d @"$dir/request" > "$dir/answers/$i.json" \
      || { echo "swap $i failed"; tail -5 "$dir/log"; rm -f "$dir/answers/$i.json"; }
    sleep 0.3
  done
  kill -TERM "$pid"; wait "$pid" || true
  python3 - "$dir/answers" "$plugin" <<'PY'
import glob, json, sys, statistics
answers = [json.load(open(f)) for f in glob.glob(sys.argv[1] + "/*.json")]
after = sorted(a["stall_ms_beyond_commit"] for a in answers)
paused = sorted(a["paused_ms"] for a in answers)
p = lambda v, q: v[min(len(v) - 1, int(q * len(v)))]
print(f"{sys.argv[2]}: swaps completed: {len(answers)} of 20")
print(f"  input stall beyond the commit of the last epoch: p50 {statistics.median(after):.2f} ms, p99 {p(after, 0.99):.2f} ms, max {after[-1]:.2f} ms (target p99 <= 20 ms)")
print(f"  whole pause from the barrier (writing the checkpoint, the old sink's commit and close): p50 {statistics.median(paused):.2f} ms, max {paused[-1]:.2f} ms")
PY
}
