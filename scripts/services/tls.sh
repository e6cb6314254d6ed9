#!/usr/bin/env bash
# TLS for tests and benchmarks: certificates made with openssl, and stunnel (Debian's stunnel4)
# terminating TLS in front of a plaintext service (pulsar-lite has no TLS of its own).
#
#   tls.sh install                      openssl and stunnel4
#   tls.sh certs DIR                    writes into DIR (keys unencrypted, 0600):
#                                         ca.pem ca.key            the test CA
#                                         server.pem server.key    for localhost and 127.0.0.1, by the CA
#                                         client.pem client.key    a client certificate, by the CA
#                                         other-ca.pem             a CA that signed nothing here
#                                         rogue-client.pem/.key    a client certificate by another CA
#                                         wrong-host.pem/.key      for wrong-host.invalid only, by the CA
#                                         expired.pem/.key         for localhost and 127.0.0.1, by the CA, expired in 2020
#   tls.sh stunnel-start DIR ACCEPT_PORT CONNECT_PORT CERT KEY [CLIENT_CA]
#                                       TLS on 127.0.0.1:ACCEPT_PORT to 127.0.0.1:CONNECT_PORT; with
#                                       CLIENT_CA, clients must present a certificate it signed
#   tls.sh stunnel-stop DIR
set -euo pipefail

install() {
  local missing=()
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v stunnel4 >/dev/null 2>&1 || command -v stunnel >/dev/null 2>&1 || missing+=(stunnel4)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# leaf NAME SUBJECT_CN SAN CA_PREFIX [openssl ca dates...]
leaf() {
  local dir=$1 name=$2 cn=$3 san=$4 ca=$5
  openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/$name.key" -subj "/CN=$cn" -out "$dir/$name.csr" 2>/dev/null
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" > "$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.pem" -CAkey "$dir/$ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$dir/$name.ext" -out "$dir/$name.pem" 2>/dev/null
  rm -f "$dir/$name.csr" "$dir/$name.ext"
}

certs() {
  local dir=$1
  mkdir -p "$dir"
  umask 077
  for ca in ca other-ca; do
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/$ca.key" -subj "/CN=sluice test $ca" \
      -days 30 -sha256 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
      -out "$dir/$ca.pem" 2>/dev/null
  done
  leaf "$dir" server localhost "DNS:localhost,IP:127.0.0.1" ca
  leaf "$dir" client sluice-client "DNS:sluice-client" ca
  leaf "$dir" rogue-client rogue-client "DNS:rogue-client" other-ca
  leaf "$dir" wrong-host wrong-host.invalid "DNS:wrong-host.invalid" ca
  # Expired: openssl ca takes explicit dates (x509 -req cannot go back in time).
  openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/expired.key" -subj "/CN=localhost" -out "$dir/expired.csr" 2>/dev/null
  mkdir -p "$dir/ca-db"
  : > "$dir/ca-db/index.txt"
  echo 1000 > "$dir/ca-db/serial"
  cat > "$dir/ca-db/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
database = $dir/ca-db/index.txt
serial = $dir/ca-db/serial
new_certs_dir = $dir/ca-db
default_md = sha256
policy = any
copy_extensions = none
x509_extensions = leaf
[any]
commonName = supplied
[leaf]
subjectAltName = DNS:localhost,IP:127.0.0.1
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
CNF
  openssl ca -batch -config "$dir/ca-db/ca.cnf" -cert "$dir/ca.pem" -keyfile "$dir/ca.key" \
    -startdate 20200101000000Z -enddate 20200201000000Z -in "$dir/expired.csr" -out "$dir/expired.pem" -notext 2>/dev/null
  rm -rf "$dir/expired.csr" "$dir/ca-db"
  chmod 600 "$dir"/*.key
  chmod 644 "$dir"/*.pem
}

stunnel_binary() { command -v stunnel4 || command -v stunnel; }

stunnel_start() {
  local dir=$1 accept=$2 connect=$3 cert=$4 key=$5 client_ca=${6:-}
  mkdir -p "$dir"
  if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    echo "tls.sh: stunnel already runs for $dir" >&2; exit 1
  fi
  {
    echo "foreground = yes"
    echo "pid ="
    echo "debug = notice"
    echo "output = $dir/stunnel.log"
    # On an error (a client gone without a TLS close, as a killed process's connection is)
    # stunnel would end the broker side with a TCP reset, after which pulsar-lite 0.2.0 keeps
    # the dead connection's consumers forever (see pulsar.sh); close it normally instead.
    echo "reset = no"
    echo "[tls]"
    echo "accept = 127.0.0.1:$accept"
    echo "connect = 127.0.0.1:$connect"
    echo "cert = $cert"
    echo "key = $key"
    if [ -n "$client_ca" ]; then
      echo "CAfile = $client_ca"
      echo "verifyChain = yes"
      echo "requireCert = yes"
    fi
  } > "$dir/stunnel.conf"
  # Not holding the caller's descriptors (see pulsar.sh).
  (for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done
   exec setsid "$(stunnel_binary)" "$dir/stunnel.conf" >>"$dir/stunnel.out" 2>&1 < /dev/null) &
  echo $! > "$dir/pid"
  for _ in $(seq 1 100); do
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "tls.sh: stunnel exited during start:" >&2; cat "$dir/stunnel.out" "$dir/stunnel.log" 2>/dev/null | tail -20 >&2; exit 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$accept") 2>/dev/null; then exit 0; fi
    sleep 0.05
  done
  echo "tls.sh: stunnel did not listen on 127.0.0.1:$accept within 5 s" >&2
  exit 1
}

stunnel_stop() {
  local dir=$1
  [ -f "$dir/pid" ] || exit 0
  local pid; pid=$(cat "$dir/pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/pid"
}

case "${1:-}" in
  install) install ;;
  certs) certs "${2:?usage: tls.sh certs DIR}" ;;
  stunnel-start) shift; stunnel_start "$@" ;;
  stunnel-stop) stunnel_stop "${2:?usage: tls.sh stunnel-stop DIR}" ;;
  *) echo "usage: tls.sh install | certs DIR | stunnel-start DIR ACCEPT CONNECT CERT KEY [CLIENT_CA] | stunnel-stop DIR" >&2; exit 2 ;;
esac
