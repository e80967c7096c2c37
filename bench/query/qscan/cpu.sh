#!/bin/bash
# Manual: per daemon (PORT:PID), CPU ms per query from /proc/PID/stat (utime+stime) and the
# median wall time, daemons alternated in every round.  Run under `chrt -f 10` (with the daemons
# started under it too) to time them as on a quiet machine.
# cpu.sh SET N PORT:PID ...  -> per daemon: CPU ms per query (utime+stime / N) and median wall ms; rounds alternate daemons
SET=$1; N=$2; shift 2
tick=$(getconf CLK_TCK)
declare -A c0 w
for d in "$@"; do pid=${d#*:}; c0[$d]=$(awk '{print $14+$15}' /proc/$pid/stat); w[$d]=""; done
declare -A cs
for d in "$@"; do cs[$d]=0; done
for i in $(seq $N); do
  for d in "$@"; do port=${d%%:*}; pid=${d#*:}
    a=$(awk '{print $14+$15}' /proc/$pid/stat)
    t=$("$(dirname "$0")"/q.sh $port $SET 1)
    b=$(awk '{print $14+$15}' /proc/$pid/stat)
    cs[$d]=$((cs[$d] + b - a)); w[$d]="${w[$d]} $t"
  done
done
for d in "$@"; do
  med=$(echo ${w[$d]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]*1000}')
  echo "$d cpu_ms/query=$(echo "${cs[$d]} * 1000 / $tick / $N" | bc -l | cut -c1-6) wall_median_ms=$med"
done
