# scripts/bench fn: rows per second through libm's cbrt via the `fn` transform (libffi), against
# a direct Swift loop calling cbrt over the same column, measured in the same run.
# Pipeline: C sequence source (float64 column, 4096-row batches) -> fn (cbrt) -> null sink.
# The two are measured in three alternating rounds (a VM's speed drifts) and compared by their
# medians. Target: the transform reaches at least 30 % of the direct loop.
# shellcheck shell=bash

fn() {
  echo
  echo "== fn: cbrt over a float64 column, through the fn transform vs a direct Swift loop =="
  local seconds=${BENCH_SECONDS:-5}
  swiftc -O -o "$work/fn-direct" scripts/bench.d/fn_direct.swift
  local round_seconds rows timed checksum count
  round_seconds=$(python3 -c "print(max(1.0, $seconds / 3))")
  : > "$work/fn-rates"
  for round in 1 2 3; do
    read -r rows timed checksum < <("$work/fn-direct" "$round_seconds")
    echo "direct $rows $timed" >> "$work/fn-rates"
    if [ "$round" = 1 ]; then
      # Size each pipeline run to last about a round at a third of the direct rate.
      count=$(python3 -c "print(max(4096, int($rows / $timed * $round_seconds / 3 // 4096 * 4096)))")
      cat > "$work/fn.yaml" <<YAML
name: bench-fn
source: { plugin: $work/libsequence-source.so, config: { count: $count, batch_size: 4096, format: float64 } }
transforms:
  - fn: { library: libm.so.6, symbol: cbrt, signature: "double(double)", args: [value], output: value_cbrt }
sink: { plugin: null-sink }
checkpointing: { interval: off, directory: $work/ck-fn }
queue_capacity: 64
YAML
      "$bin/sluice" validate "$work/fn.yaml" > /dev/null
    fi
    rm -rf "$work/ck-fn"
    "$bin/sluice" worker "$work/fn.yaml" 2> "$work/fn.log"
    python3 - "$work/fn.log" >> "$work/fn-rates" <<'PY'
import re, sys
m = re.search(r"ran for ([0-9.]+) s; rows per operator: source (\d+)", open(sys.argv[1]).read())
print("fn", m.group(2), m.group(1))
PY
  done
  python3 - "$work/fn-rates" <<'PY'
import statistics, sys
rates = {"direct": [], "fn": []}
for line in open(sys.argv[1]):
    kind, rows, seconds = line.split()
    rates[kind].append(int(rows) / float(seconds))
direct, fn = statistics.median(rates["direct"]), statistics.median(rates["fn"])
fmt = lambda xs: ", ".join(f"{x/1e6:.1f}M" for x in xs)
print(f"direct Swift loop calling cbrt: {direct:>14,.0f} rows/s   (median of {fmt(rates['direct'])})")
print(f"fn transform (libffi, engine):  {fn:>14,.0f} rows/s   (median of {fmt(rates['fn'])})")
print(f"fn / direct: {fn / direct * 100:.1f} %   (target >= 30 %)  {'OK' if fn / direct >= 0.3 else 'BELOW TARGET'}")
PY
}
