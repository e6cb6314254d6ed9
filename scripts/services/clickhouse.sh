#!/usr/bin/env bash
# A throw-away ClickHouse server for tests and benchmarks, on loopback ports, with everything
# (configuration, data, logs) inside one folder.
#
#   clickhouse.sh install                       Debian's clickhouse-server and -client, curl, and
#                                               chdb-core in .venv (chdb may fail: it only gates
#                                               the encoder conformance test)
#   clickhouse.sh start DIR HTTP_PORT TCP_PORT [HTTPS_PORT CERT KEY [CLIENT_CA]]
#                                               writes DIR/config.xml and DIR/users.xml, starts the
#                                               server in the background (DIR/pid), waits for SELECT 1;
#                                               with HTTPS_PORT it also serves HTTPS there with CERT and
#                                               KEY (its own OpenSSL), and with CLIENT_CA it requires
#                                               client certificates signed by that CA
#   clickhouse.sh stop DIR                      stops it (SIGTERM, then SIGKILL after 20 s)
#
# Users: `default` without a password, and `sluice` with the password `sluice-secret` (for the
# credential tests). The query log is on (log_queries=1 in the default profile): the sink's
# exactly-once path for servers without insert_deduplication_token reads system.query_log.
set -euo pipefail

server_binary() {
  if command -v clickhouse-server >/dev/null 2>&1; then command -v clickhouse-server
  elif [ -x /usr/sbin/clickhouse-server ]; then echo /usr/sbin/clickhouse-server
  elif command -v clickhouse >/dev/null 2>&1; then echo "$(command -v clickhouse) server"
  else return 1
  fi
}

install() {
  local missing=()
  server_binary >/dev/null 2>&1 || missing+=(clickhouse-server)
  command -v clickhouse-client >/dev/null 2>&1 || missing+=(clickhouse-client)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}..."
    apt-get update -qq
    # The package's postinst tries to start a system service; there is none in a container.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # chdb-core: an in-process ClickHouse 26.x that decodes the sink's Native output in the
  # encoder conformance test. A failure here is reported, not fatal.
  # shellcheck source=../lib/env.sh
  source "$(dirname "${BASH_SOURCE[0]}")/../lib/env.sh"
  if ! ensure_venv chdb-core; then
    echo "warning: could not install chdb-core into .venv; the ClickHouse encoder conformance test will fail" >&2
  fi
}

write_config() {
  local dir=$1 http=$2 tcp=$3 https=${4:-} cert=${5:-} key=${6:-} client_ca=${7:-}
  local tls=""
  if [ -n "$https" ]; then
    local verification="none" ca_line=""
    if [ -n "$client_ca" ]; then verification="strict"; ca_line="<caConfig>$client_ca</caConfig>"; fi
    tls="<https_port>$https</https_port>
    <openSSL>
        <server>
            <certificateFile>$cert</certificateFile>
            <privateKeyFile>$key</privateKeyFile>
            <verificationMode>$verification</verificationMode>
            $ca_line
            <loadDefaultCAFile>false</loadDefaultCAFile>
            <cacheSessions>true</cacheSessions>
            <disableProtocols>sslv2,sslv3</disableProtocols>
            <preferServerCiphers>true</preferServerCiphers>
        </server>
    </openSSL>"
  fi
  mkdir -p "$dir/data" "$dir/tmp" "$dir/log" "$dir/user_files" "$dir/format_schemas"
  cat > "$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>information</level>
        <log>$dir/log/server.log</log>
        <errorlog>$dir/log/error.log</errorlog>
        <size>100M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$http</http_port>
    <tcp_port>$tcp</tcp_port>
    $tls
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <max_connections>256</max_connections>
    <keep_alive_timeout>30</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <query_log>
        <database>system</database>
        <table>query_log</table>
        <partition_by>toYYYYMM(event_date)</partition_by>
        <flush_interval_milliseconds>1000</flush_interval_milliseconds>
    </query_log>
</yandex>
XML
  cat > "$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <log_queries>1</log_queries>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
        <sluice>
            <password>sluice-secret</password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </sluice>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
XML
}

start() {
  local dir=${1:?usage: clickhouse.sh start DIR HTTP_PORT TCP_PORT [HTTPS_PORT CERT KEY [CLIENT_CA]]} http=${2:?HTTP_PORT} tcp=${3:?TCP_PORT}
  local https=${4:-} cert=${5:-} key=${6:-} client_ca=${7:-}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local binary
  binary=$(server_binary) || { echo "clickhouse-server is not installed: run scripts/test (or scripts/services/clickhouse.sh install)" >&2; exit 1; }
  if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    echo "a ClickHouse server from $dir is already running (pid $(cat "$dir/pid"))" >&2
    exit 1
  fi
  write_config "$dir" "$http" "$tcp" "$https" "$cert" "$key" "$client_ca"
  # setsid: the server gets its own session, so a test runner's signals do not reach it.
  # shellcheck disable=SC2086
  setsid $binary --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1 < /dev/null &
  echo $! > "$dir/pid"
  local pid
  pid=$(cat "$dir/pid")
  for _ in $(seq 1 300); do
    if [ "$(curl -s --max-time 2 "http://127.0.0.1:$http/?query=SELECT%201" 2>/dev/null)" = "1" ]; then
      # HTTPS comes up with HTTP; wait for its port too.
      if [ -z "$https" ] || (exec 3<>"/dev/tcp/127.0.0.1/$https") 2>/dev/null; then
        echo "ClickHouse is up at http://127.0.0.1:$http${https:+ and https://127.0.0.1:$https} (pid $pid, folder $dir)"
        return 0
      fi
    fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "ClickHouse did not answer SELECT 1 on http://127.0.0.1:$http; its logs:" >&2
  tail -n 40 "$dir/log/stdout.log" "$dir/log/error.log" "$dir/log/server.log" >&2 2>/dev/null || true
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/pid"
  exit 1
}

stop() {
  local dir=${1:?usage: clickhouse.sh stop DIR}
  [ -f "$dir/pid" ] || return 0
  local pid
  pid=$(cat "$dir/pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
  fi
  rm -f "$dir/pid"
}

command=${1:-}
shift || true
case "$command" in
  install) install ;;
  start) start "$@" ;;
  stop) stop "$@" ;;
  *) echo "usage: $0 install | start DIR HTTP_PORT TCP_PORT [HTTPS_PORT CERT KEY [CLIENT_CA]] | stop DIR" >&2; exit 2 ;;
esac
