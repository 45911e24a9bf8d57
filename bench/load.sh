#!/usr/bin/env bash
# Issue 14, "under load on one machine": peak RSS and time of `liaison ingest` for bundles of
# growing size, and the latency of read-only commands while an ingest runs.
#   bench/load.sh [LIAISON_BIN ...]        (default: target/release/liaison)
# Env: SIZES (objects per bundle, default "67000 270000 540000", about 50/200/400 MB),
#      RUNS (default 3), GEN (liaison-bench binary), DIR (scratch, default /tmp/liaison-load).
# Prints one line per (binary, size): median peak RSS (MB), median wall time, objects/s; then,
# per binary, read commands run in a loop during an ingest of the largest bundle into a store
# that already holds the first one: count, failures, median and max latency.
set -euo pipefail
cd "$(dirname "$0")/.."
BINS=("$@"); [ ${#BINS[@]} -eq 0 ] && BINS=(target/release/liaison)
SIZES=${SIZES:-"67000 270000 540000"}
RUNS=${RUNS:-3}
GEN=${GEN:-target/release/liaison-bench}
DIR=${DIR:-/tmp/liaison-load}
AGREEMENT=examples/gbr.toml
LABEL="SECRET//REL TO USA, GBR"
mkdir -p "$DIR"
trap 'rm -rf "$DIR"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
fresh() { rm -rf "$2"; "$1" --home "$2" init --party USA >/dev/null; "$1" --home "$2" partner add GBR --agreement "$AGREEMENT" >/dev/null; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $SIZES; do
  "$GEN" bundle --objects "$n" --out "$DIR/b$n.json" >/dev/null
done
for bin in "${BINS[@]}"; do
  for n in $SIZES; do
    f="$DIR/b$n.json"; mb=$(( $(stat -c %s "$f") / 1000000 ))
    rss=(); wall=()
    for _ in $(seq "$RUNS"); do
      fresh "$bin" "$DIR/home"
      /usr/bin/time -v "$bin" --home "$DIR/home" ingest --label "$LABEL" "$f" >/dev/null 2>"$DIR/time.txt"
      rss+=("$(awk -F: '/Maximum resident/ {print int($2/1024)}' "$DIR/time.txt")")
      wall+=("$(awk -F': ' '/Elapsed/ {n=split($2,p,":"); print (n==3 ? p[1]*3600+p[2]*60+p[3] : p[1]*60+p[2])}' "$DIR/time.txt")")
    done
    r=$(printf '%s\n' "${rss[@]}" | median); w=$(printf '%s\n' "${wall[@]}" | median)
    printf '%s ingest %7d objects %4d MB: peak RSS %5s MB (%.1fx the file; runs %s), wall %6.2f s (%s), %6.0f objects/s\n' \
      "$bin" "$n" "$mb" "$r" "$(echo "$r / $mb" | bc -l)" "${rss[*]}" "$w" "${wall[*]}" "$(echo "$n / $w" | bc -l)"
  done
  # Read commands during an ingest of the largest bundle on top of the first one.
  first=$(echo $SIZES | cut -d' ' -f1); last=$(echo $SIZES | awk '{print $NF}')
  fresh "$bin" "$DIR/home"
  "$bin" --home "$DIR/home" ingest --label "$LABEL" "$DIR/b$first.json" >/dev/null
  "$bin" --home "$DIR/home" log show >/dev/null
  "$bin" --home "$DIR/home" ingest --label "$LABEL" "$DIR/b$last.json" >/dev/null 2>&1 &
  ing=$!
  : > "$DIR/reads.txt"
  while kill -0 $ing 2>/dev/null; do
    for c in "log show" "partner list"; do
      s=$(date +%s%N)
      if "$bin" --home "$DIR/home" $c >/dev/null 2>"$DIR/err.txt"; then rc=0; else rc=1; fi
      echo "$c|$rc|$(( ($(date +%s%N) - s) / 1000000 ))|$(head -c 80 "$DIR/err.txt")" >> "$DIR/reads.txt"
    done
  done
  wait $ing || true
  total=$(wc -l < "$DIR/reads.txt"); failed=$(awk -F'|' '$2==1' "$DIR/reads.txt" | wc -l)
  med=$(cut -d'|' -f3 "$DIR/reads.txt" | median); max=$(cut -d'|' -f3 "$DIR/reads.txt" | sort -n | tail -1)
  printf '%s reads during an ingest of %d objects onto %d: %d commands, %d failed, median %s ms, max %s ms %s\n' \
    "$bin" "$last" "$first" "$total" "$failed" "$med" "$max" "$(awk -F'|' '$2==1 {print "(" $4 ")"; exit}' "$DIR/reads.txt")"
done
