#!/usr/bin/env bash
# TLS against plain TCP, one lepusd serving both: 1 publisher -> 1 queue -> 1 consumer, no-ack,
# 16 B and 1 KiB bodies, alternating plain and TLS runs. lepusd runs one shard pinned to CPU
# 0 and lepus-perf on CPU 1 (bench/README.md, --pin). Prints one line per run.
#
#   bench/results/2026-12-03-tls/run.sh BUILD_DIR [REPEATS] [DURATION_S]
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR [REPEATS] [DURATION_S]}" && pwd)
repeats=${2:-3}
duration=${3:-5}
work=$(mktemp -d /tmp/lepus-tls-bench-XXXXXX)
trap 'kill "$lepusd" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
  -out ca.pem -days 30 -subj /CN=bench-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key \
  -out server.csr -subj /CN=localhost 2>/dev/null
echo "subjectAltName=DNS:localhost,IP:127.0.0.1" >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
  -days 30 -extfile server.ext 2>/dev/null
plain=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tls=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >lepusd.conf <<CONF
listeners.tcp.default = 127.0.0.1:$plain
listeners.ssl.default = 127.0.0.1:$tls
ssl_options.certfile = $work/server.pem
ssl_options.keyfile = $work/server.key
CONF
taskset -c 0 "$build/bin/lepusd" --config lepusd.conf --data-dir data --shards 1 \
  --log-level warning &
lepusd=$!
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/$tls) 2>/dev/null && break
  sleep 0.05
done
cat >report.py <<'PY'
import json, sys
size, run, transport, result, ticks = sys.argv[1:]
r = json.loads(result)
broker_us = int(ticks) * 10000 / max(r["received"], 1)  # lepusd CPU, 1/100 s per tick
print(f"{size:>5} B  run {run}  {transport:<5}  publish {r['publish_rate']:>10,.0f}/s"
      f"  consume {r['consume_rate']:>10,.0f}/s  p50 {r['latency_us']['p50']:>8.0f} us"
      f"  gaps {r['gaps']}  lepusd CPU {broker_us:.2f} us/msg")
PY
lepusd_ticks() { awk '{print $14 + $15}' "/proc/$lepusd/stat"; }
for size in 16 1024; do
  for run in $(seq "$repeats"); do
    for transport in plain tls; do
      if [ $transport = plain ]; then
        uri="amqp://guest:guest@127.0.0.1:$plain/"
        extra=()
      else
        uri="amqps://guest:guest@localhost:$tls/"
        extra=(--ca-file "$work/ca.pem")
      fi
      before=$(lepusd_ticks)
      result=$("$build/bin/lepus-perf" --uri "$uri" "${extra[@]}" --producers 1 --consumers 1 \
        --queues 1 --size "$size" --autoack --duration "$duration" --cpu 1 --json --quiet)
      after=$(lepusd_ticks)
      python3 report.py "$size" "$run" "$transport" "$result" $((after - before))
    done
  done
done
