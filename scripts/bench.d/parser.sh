# shellcheck shell=bash
# scripts/bench parser: the sensor parser alone. 200,000 sensor readings replayed 10 times by
# the line source, through the parser into a null sink, against the same pipeline with a
# pass-through transform instead of the parser (the cost of everything but parsing), in the
# same run. Each operator has its own thread, so the parser runs on one core.
parser() {
  echo
  echo "== parser: sensor readings through the sensor parser, one thread =="
  local dir="$work/parser"
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
  run_parser() {
    local name=$1 transform=$2
    cat > "$dir/$name.yaml" <<YAML
name: bench-$name
source: { plugin: line-source, config: { path: $dir/readings.jsonl, repeat: 10, batch_size: 4096 } }
transforms:
$transform
sink: { plugin: null-sink }
checkpointing: { interval: 1s, directory: $dir/ck-$name }
YAML
    "$bin/sluice" worker "$dir/$name.yaml" 2> "$dir/$name.log"
    python3 - "$dir/$name.log" <<'PY'
import re, sys
m = re.search(r"ran for ([0-9.]+) s; rows per operator: source (\d+)", open(sys.argv[1]).read())
print(m.group(1), m.group(2))
PY
  }
  local ps pr rs rr
  read -r rs rr < <(run_parser reference "  - plugin: pass-through")
  read -r ps pr < <(run_parser parse "  - sensor-parser:
      columns:
        - { name: sensor_id, type: string }
        - { name: ts, type: timestamp, unit: ms }
        - { name: temperature, type: float64 }
        - { name: humidity, type: float64, nullable: true }
        - { name: battery, type: uint8 }
        - { name: status, type: string, default: unknown }
        - { name: site, path: location.site, type: string }
        - { name: seq, type: uint64 }")
  python3 -c "
rows, ps, rs = $pr, $ps, $rs
print(f'pipeline with the parser:      {rows/ps:>12,.0f} readings/s  (target >= 1,000,000 on one core)')
print(f'same pipeline, pass-through:   {$rr/rs:>12,.0f} readings/s  (everything but parsing)')
print(f'parser alone (time added by parsing): {rows/max(ps-rs, 1e-9):,.0f} readings/s')
"
}
