#!/usr/bin/env bash
# An S3-compatible object store for tests and benchmarks: moto_server (PyPI, moto[server]) on a
# loopback port, in memory (its objects live as long as the process).
#
#   s3.sh install            moto[server] into .venv
#   s3.sh start DIR PORT     starts it on 127.0.0.1:PORT (pid and log in DIR)
#   s3.sh stop DIR
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/scripts/lib/env.sh"
server="$root/.venv/bin/moto_server"

case "${1:-}" in
  install)
    ensure_venv pip
    if ! "$server" --help >/dev/null 2>&1; then
      echo "installing moto[server] into .venv..."
      "$root/.venv/bin/python" -m pip install -q 'moto[server]'
    fi
    ;;
  start)
    dir=${2:?usage: s3.sh start DIR PORT}
    port=${3:?usage: s3.sh start DIR PORT}
    [ -x "$server" ] || { echo "s3.sh: $server missing; run scripts/services/s3.sh install" >&2; exit 1; }
    mkdir -p "$dir"
    if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "s3.sh: already running for $dir" >&2; exit 1
    fi
    (for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done
     exec setsid "$server" -H 127.0.0.1 -p "$port" >>"$dir/moto.log" 2>&1 < /dev/null) &
    echo $! > "$dir/pid"
    for _ in $(seq 1 300); do
      if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
        echo "s3.sh: moto_server exited during start:" >&2; tail -n 20 "$dir/moto.log" >&2; exit 1
      fi
      if curl -s -o /dev/null "http://127.0.0.1:$port/"; then exit 0; fi
      sleep 0.1
    done
    echo "s3.sh: moto_server did not answer on 127.0.0.1:$port within 30 s" >&2
    exit 1
    ;;
  stop)
    dir=${2:?usage: s3.sh stop DIR}
    [ -f "$dir/pid" ] || exit 0
    pid=$(cat "$dir/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/pid"
    ;;
  *) echo "usage: s3.sh install | start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
