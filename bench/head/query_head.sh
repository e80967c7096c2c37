#!/bin/bash
# usage: LPBLAST=path/to/lpblast bench/head/query_head.sh NIGHTJAR FILE.lp
# Ingests FILE (a devops set) into a fresh Nightjar on 127.0.0.1 (data stays
# in the head) and prints the median wall seconds of 7 runs of two queries.
NJ=$1; F=$2
D=$(mktemp -d)
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
cat > $D/nj.yaml <<Y
http: {listen: "127.0.0.1:$PORT"}
log: {level: warn}
storage: {dir: $D/data, retention: INF}
internal: {enabled: false}
databases: [bench]
Y
$NJ --config $D/nj.yaml > $D/log 2>&1 &
P=$!
for i in $(seq 200); do curl -s -o /dev/null 127.0.0.1:$PORT/ping && break; sleep 0.1; done
${LPBLAST:-lpblast} -f $F -p $PORT -b 5000 -c 2 -t 900 > /dev/null
curl -s 127.0.0.1:$PORT/metrics | grep -E "^nightjar_head_bytes|^nightjar_storage_parts"
for q in "SELECT max(usage_user) FROM cpu GROUP BY time(5m)" "SELECT * FROM cpu WHERE hostname='host_7'"; do
  ts=()
  for i in 1 2 3 4 5 6 7; do
    t=$(curl -s -o /dev/null -w '%{time_total}' -G 127.0.0.1:$PORT/query --data-urlencode db=bench --data-urlencode "q=$q")
    ts+=($t)
  done
  printf '%s\n' "${ts[@]}" | sort -n | sed -n 4p | xargs echo "median_s q=[$q]"
done
curl -s -G 127.0.0.1:$PORT/query --data-urlencode db=bench --data-urlencode "q=SELECT count(usage_user) FROM cpu" | head -c 200; echo
kill $P; wait $P; rm -rf $D
