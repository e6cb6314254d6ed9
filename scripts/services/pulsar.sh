#!/usr/bin/env bash
# The pulsar-lite broker (PyPI) for tests and benchmarks, on a loopback port.
#
#   pulsar.sh install                      pulsar-lite and the official pulsar-client into .venv
#   pulsar.sh start DIR PORT [PARTITIONS]  starts a broker on 127.0.0.1:PORT with its data in
#                                          DIR/data; PARTITIONS > 0 makes every new topic a
#                                          partitioned topic with that many partitions (pulsar-lite
#                                          has no admin API; this is its `default_partitions`)
#   pulsar.sh stop DIR                     stops the broker started with DIR
#
# The broker's metrics endpoint is switched off (it would listen on 0.0.0.0:8080).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/scripts/lib/env.sh"
python="$root/.venv/bin/python"

broker_binary() {
  "$python" -c 'from pulsar_lite.binary_finder import find_pulsar_lite_binary; print(find_pulsar_lite_binary())'
}

case "${1:-}" in
  install)
    ensure_venv pulsar-lite pulsar-client
    ;;
  start)
    dir=${2:?usage: pulsar.sh start DIR PORT [PARTITIONS]}
    port=${3:?usage: pulsar.sh start DIR PORT [PARTITIONS]}
    partitions=${4:-0}
    [ -x "$python" ] || { echo "pulsar.sh: $python missing; run scripts/test (or scripts/services/pulsar.sh install) first" >&2; exit 1; }
    binary=$(broker_binary) || { echo "pulsar.sh: pulsar-lite is not installed in .venv; run scripts/services/pulsar.sh install" >&2; exit 1; }
    mkdir -p "$dir"
    # Keep-alive: the broker pings every 2 s and closes a connection silent for 4 s (a client
    # that vanished without a FIN or RST). Note that no setting helps with a client whose
    # connection ended with a RST (a process killed with unread bytes in its socket): pulsar-lite
    # 0.2.0 then never removes its consumers. sluice's source therefore ends its connections
    # with a FIN even when killed (Sources/PulsarClient/Channel/SocketGuardian.swift).
    printf 'default_partitions = %d\nkeep_alive_interval_secs = 2\nconnection_liveness_check_timeout_secs = 4\n\n[metrics]\nenabled = false\n' "$partitions" > "$dir/pulsar-lite.toml"
    if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "pulsar.sh: a broker is already running for $dir (pid $(cat "$dir/pid"))" >&2; exit 1
    fi
    # The broker must not inherit descriptors of whoever runs this script (Foundation's
    # Process, for one, waits until every holder of its socket pair has exited).
    (cd "$dir"
     for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done
     exec setsid "$binary" --config "$dir/pulsar-lite.toml" --addr "127.0.0.1:$port" \
        --db-path "$dir/data" --log-level "${PULSAR_LITE_LOG_LEVEL:-warn}" >>"$dir/broker.log" 2>&1 < /dev/null) &
    echo $! > "$dir/pid"
    for _ in $(seq 1 300); do
      if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
        echo "pulsar.sh: pulsar-lite exited during start; its log ($dir/broker.log):" >&2
        tail -n 40 "$dir/broker.log" >&2
        exit 1
      fi
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then exit 0; fi
      sleep 0.1
    done
    echo "pulsar.sh: pulsar-lite did not listen on 127.0.0.1:$port within 30 s; its log ($dir/broker.log):" >&2
    tail -n 40 "$dir/broker.log" >&2
    kill "$(cat "$dir/pid")" 2>/dev/null || true
    exit 1
    ;;
  stop)
    dir=${2:?usage: pulsar.sh stop DIR}
    [ -f "$dir/pid" ] || exit 0
    pid=$(cat "$dir/pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/pid"
    ;;
  *)
    echo "usage: pulsar.sh install | start DIR PORT [PARTITIONS] | stop DIR" >&2
    exit 2
    ;;
esac
