#!/usr/bin/env bash
# Proof of work on the CPU: our cpu solver against hashcat (PoCL, CPU device),
# measured back to back in the same run, ROUNDS times. Prints both hash rates
# and the ratio, then (E2E=1) real difficulty-7 and -8 solves with both.
#   ROUNDS=3 DURATION=10s E2E=1 bench/pow.sh
# KERNEL=avx2 (or avx512, generic) forces the cpu solver's kernel.
# PLOT=docs/img/pow-cpu.svg also draws both rates per round and their mean
# as a grouped bar chart (internal/plot/cmd/barchart).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
E2E=${E2E:-1}
PLOT=${PLOT:-}
KERNEL=${KERNEL:-auto}
HASHCAT=${HASHCAT:-hashcat}
HASHCAT_ARGS=${HASHCAT_ARGS:--D 1 -O -w 3}

mkdir -p bench/out
go build -o bench/out/compute ./cmd/compute
bin=bench/out/compute

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ours:    $bin benchmark --throughput --solver cpu --cpu.kernel $KERNEL --duration $DURATION"
echo "hashcat: $HASHCAT -b -m 610 $HASHCAT_ARGS ($($HASHCAT --version))"

to_hs() { # "<value> <unit>" -> H/s
	awk '{v=$1; u=$2; m=1; if(u=="kH/s")m=1e3; if(u=="MH/s")m=1e6; if(u=="GH/s")m=1e9; printf "%.0f\n", v*m}'
}

sum_ours=0; sum_hc=0
cats=""; v_ours=""; v_hc="" # JSON lists for PLOT, in MH/s
for i in $(seq 1 "$ROUNDS"); do
	ours=$($bin benchmark --throughput --solver cpu --cpu.kernel "$KERNEL" --duration "$DURATION" --json 2>/dev/null |
		sed -n 's/.*"hashes_per_second": *\([0-9.]*\).*/\1/p')
	# shellcheck disable=SC2086
	hc=$($HASHCAT -b -m 610 $HASHCAT_ARGS 2>/dev/null | sed -n 's/^Speed\.#[0-9*]*\.*: *\([0-9.]* [kMG]*H\/s\).*/\1/p' | head -1 | to_hs)
	ratio=$(awk -v a="$ours" -v b="$hc" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "n/a" }')
	printf 'round %d: ours %.1f MH/s   hashcat %.1f MH/s   ratio %s   (load %s)\n' "$i" \
		"$(awk -v a="$ours" 'BEGIN{print a/1e6}')" "$(awk -v a="$hc" 'BEGIN{print a/1e6}')" "$ratio" "$(cut -d' ' -f1 /proc/loadavg)"
	sum_ours=$(awk -v s="$sum_ours" -v a="$ours" 'BEGIN{print s+a}')
	sum_hc=$(awk -v s="$sum_hc" -v a="$hc" 'BEGIN{print s+a}')
	cats="$cats\"round $i\", "
	v_ours="$v_ours$(awk -v a="$ours" 'BEGIN{printf "%.1f", a/1e6}'), "
	v_hc="$v_hc$(awk -v a="$hc" 'BEGIN{printf "%.1f", a/1e6}'), "
done
awk -v a="$sum_ours" -v b="$sum_hc" -v n="$ROUNDS" 'BEGIN{
	printf "mean: ours %.1f MH/s   hashcat %.1f MH/s   ratio %.2f\n", a/n/1e6, b/n/1e6, (b>0 ? a/b : 0) }'

if [ -n "$PLOT" ]; then
	mean() { awk -v a="$1" -v n="$ROUNDS" 'BEGIN{printf "%.1f", a/n/1e6}'; }
	cat >bench/out/pow-plot.json <<EOF
{"title": "BLAKE2b (mode 610) on $(nproc) CPUs: ours vs hashcat", "y_label": "MH/s",
 "categories": [$cats"mean"],
 "series": [{"name": "ours (cpu, kernel $KERNEL)", "values": [$v_ours$(mean "$sum_ours")]},
            {"name": "hashcat -b -m 610 $HASHCAT_ARGS", "values": [$v_hc$(mean "$sum_hc")]}]}
EOF
	go run ./internal/plot/cmd/barchart -o "$PLOT" <bench/out/pow-plot.json
	echo "plot written to $PLOT"
fi

if [ "$E2E" = 1 ]; then
	echo "== end to end, difficulties 7 and 8, 3 runs each"
	$bin benchmark --difficulties 7,8 --count 3 --solver cpu --cpu.kernel "$KERNEL" 2>/dev/null
	$bin benchmark --difficulties 7,8 --count 3 --solver hashcat --miner.hashcat.extended.options "-O" 2>/dev/null
fi
