#!/usr/bin/env bash
# GPU check and benchmark of the cuda proof-of-work solver, against hashcat.
#
# Run from the repository root on a machine with an NVIDIA GPU (H100 or any
# CUDA GPU) and its driver:
#
#   bash bench/gpu.sh build   # where Go is: builds bench/out/{compute,cuda.test,gpu.test}
#   bash bench/gpu.sh         # on the GPU machine (builds first when Go is there)
#
# hashcat comes from .hc/ (made by hashcat-carry.sh: Debian's hashcat with its
# modules and kernels); without .hc/ a hashcat on PATH is used, and without
# either the hashcat columns stay empty. NVRTC is looked up the way the solver
# does; COMPUTE_NVRTC=/path/to/libnvrtc.so.N picks one explicitly.
#
# Steps: NVML vs nvidia-smi; the solver's GPU tests (difficulties 7-10, an
# exhausted keyspace, a storm of 40 short deadlines, throughput); the bench
# report (difficulty 7 checked by a CPU brute force, 10 s throughput, 10 random
# difficulty-10 challenges on the resident solver); hashcat's throughput
# (-b -m 610 -O -w 4) and one hashcat process per challenge on the same 10
# challenges, checked against our answers; then a table of ratios.
# Exit status: 0 when every check passed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/bench/out
mkdir -p "$out"
fail=0
note() { printf '\n== %s\n' "$*"; }
bad() { echo "FAIL: $*"; fail=1; }

build() {
	note "build"
	go build -o "$out/compute" ./cmd/compute || bad "go build ./cmd/compute"
	go test -c -o "$out/cuda.test" ./internal/pow/cuda || { bad "build cuda tests"; exit 1; }
	go test -c -o "$out/gpu.test" ./internal/gpu || { bad "build gpu tests"; exit 1; }
}

if [ "${1:-}" = build ]; then
	build
	exit $fail
fi
if command -v go >/dev/null; then
	build
elif [ ! -x "$out/cuda.test" ] || [ ! -x "$out/gpu.test" ]; then
	echo "no Go here and no prebuilt bench/out/cuda.test: run 'bash bench/gpu.sh build' first and carry bench/out" >&2
	exit 2
fi

note "machine"
nvidia-smi --query-gpu=index,name,driver_version,memory.total,clocks.max.sm,clocks.max.memory --format=csv || bad "nvidia-smi"
echo "cpus: $(nproc)"

# NVRTC: the solver searches the usual places itself; when it is only found
# here (e.g. inside a Python wheel), point the solver and hashcat at it.
# Prefer the newest NVRTC whose CUDA major version is not above the driver's.
if [ -z "${COMPUTE_NVRTC:-}" ]; then
	drv_major=$(nvidia-smi 2>/dev/null | grep -oE 'CUDA Version: [0-9]+' | head -1 | awk '{ print $3 }')
	nvrtc=$(find / -xdev -name 'libnvrtc.so.1[0-9]*' 2>/dev/null | grep -v builtins | sort -V |
		awk -v d="${drv_major:-0}" '{ n = $0; sub(/.*libnvrtc\.so\./, "", n); split(n, v, "."); if (d == 0 || v[1] + 0 <= d) ok = $0; any = $0 }
			END { print (ok != "" ? ok : any) }')
	if [ -n "$nvrtc" ]; then
		export COMPUTE_NVRTC=$nvrtc
	fi
fi
echo "nvrtc: ${COMPUTE_NVRTC:-(the solver searches the usual places)}"
if [ -n "${COMPUTE_NVRTC:-}" ]; then
	mkdir -p /tmp/nv
	ln -sf "$COMPUTE_NVRTC" /tmp/nv/libnvrtc.so
	ln -sf "$COMPUTE_NVRTC" /tmp/nv/libnvrtc.so.1
	# libnvrtc loads libnvrtc-builtins from its own directory or the search path.
	export LD_LIBRARY_PATH=/tmp/nv:$(dirname "$(readlink -f "$COMPUTE_NVRTC")")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi

hashcat=""
if [ -d .hc ]; then
	note "install hashcat from .hc"
	if cp .hc/bin/hashcat /usr/bin/hashcat && mkdir -p /usr/share/hashcat/modules &&
		cp -r .hc/share/* /usr/share/hashcat/ && cp .hc/modules/* /usr/share/hashcat/modules/; then
		export LD_LIBRARY_PATH=$root/.hc/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
		hashcat=/usr/bin/hashcat
	else
		bad "installing hashcat from .hc"
	fi
elif command -v hashcat >/dev/null; then
	hashcat=$(command -v hashcat)
fi
echo "hashcat: ${hashcat:-none}"

note "NVML vs nvidia-smi"
COMPUTE_REQUIRE_GPU=1 "$out/gpu.test" -test.v -test.count=1 2>&1 | tee "$out/gpu-test.log" | grep -E '^(---|ok|FAIL|PASS)|GPU [0-9]+:|inventory'
[ "${PIPESTATUS[0]}" = 0 ] || bad "internal/gpu tests"

note "cuda solver tests (kernel as C, difficulties 7-10, not found, cancellation storm, throughput)"
(cd internal/pow/cuda && COMPUTE_REQUIRE_GPU=1 "$out/cuda.test" -test.v -test.count=1 -test.timeout=10m \
	-test.run 'TestKernel|TestNewPlan|TestGPUSolve|TestGPUNotFound|TestGPUThroughput') 2>&1 |
	tee "$out/cuda-test.log" | grep -E '^(---|ok|FAIL|PASS)|difficulty|worst|throughput|GPU [0-9]|level=(WARN|ERROR)|ready'
[ "${PIPESTATUS[0]}" = 0 ] || bad "internal/pow/cuda tests"

note "bench report (resident solver)"
report=$out/report.txt
rm -f "$report"
(cd internal/pow/cuda && COMPUTE_REQUIRE_GPU=1 COMPUTE_GPU_BENCH_OUT=$report "$out/cuda.test" -test.v -test.count=1 \
	-test.timeout=15m -test.run 'TestGPUBenchReport') >"$out/bench-test.log" 2>&1 || bad "bench report (see $out/bench-test.log)"
cat "$report" 2>/dev/null

if [ -x "$out/compute" ]; then
	note "compute benchmark --solver cuda --throughput (the CLI; informational)"
	timeout 120 "$out/compute" benchmark --solver cuda --throughput 2>&1 | tail -20 || echo "(the CLI did not run this benchmark)"
fi

# to_hs converts hashcat's "<value> <unit>" speed to hashes per second.
to_hs() {
	awk -v v="$1" -v u="$2" 'BEGIN {
		m = 1; if (u == "kH/s") m = 1e3; else if (u == "MH/s") m = 1e6; else if (u == "GH/s") m = 1e9; else if (u == "TH/s") m = 1e12
		printf "%.0f", v * m }'
}

hc_hs=""
hc_total=""
if [ -n "$hashcat" ]; then
	note "hashcat -b -m 610 -O -w 4"
	"$hashcat" -b -m 610 -O -w 4 --backend-ignore-opencl >"$out/hashcat-bench.log" 2>&1
	grep -E 'Speed|Hash-Mode|rror' "$out/hashcat-bench.log"
	# With several GPUs hashcat prints Speed.#* (the total); else Speed.#1.
	line=$(grep -E '^Speed\.#\*' "$out/hashcat-bench.log" | head -1)
	[ -n "$line" ] || line=$(grep -E '^Speed\.#1\.' "$out/hashcat-bench.log" | head -1)
	if [ -n "$line" ]; then
		read -r val unit < <(echo "$line" | sed -E 's/^[^:]*:[[:space:]]*([0-9.]+)[[:space:]]+([kMGT]?H\/s).*/\1 \2/')
		hc_hs=$(to_hs "$val" "$unit")
	else
		bad "no speed in hashcat's benchmark output"
	fi

	note "hashcat, one process per challenge (same 10 difficulty-10 challenges)"
	hc_total=0
	mask='?1?1?1?1?1?1?1?1?1?1'
	while read -r tag n hs cs ours secs; do
		[ "$tag" = challenge ] || continue
		hf=$out/hc-$n.hash
		of=$out/hc-$n.out
		printf '$BLAKE2$%s\n' "$hs" >"$hf"
		rm -f "$of"
		t0=$(date +%s.%N)
		"$hashcat" --backend-ignore-opencl --potfile-disable -O -w 4 -m 610 -a 3 -D 2 \
			--outfile "$of" --outfile-format 2 -1 "$cs" "$hf" "$mask" >"$out/hc-$n.log" 2>&1
		t1=$(date +%s.%N)
		dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
		hc_total=$(awk -v a="$hc_total" -v b="$dt" 'BEGIN { printf "%.4f", a + b }')
		theirs=$(head -1 "$of" 2>/dev/null)
		status=ok
		if [ "$theirs" != "$ours" ]; then
			status=MISMATCH
			bad "challenge $n: ours '$ours', hashcat '$theirs'"
		fi
		printf 'challenge %2s  ours %-12s %8.3f s   hashcat %-12s %8.3f s   %s\n' "$n" "$ours" "$secs" "$theirs" "$dt" "$status"
	done <"$report"
fi

note "summary"
our_hs=$(awk '$1 == "throughput" { print $2 }' "$report" 2>/dev/null)
our_total=$(awk '$1 == "challenge" { s += $6; n++ } END { if (n) printf "%.4f", s }' "$report" 2>/dev/null)
awk -v ohs="$our_hs" -v hhs="$hc_hs" -v ot="$our_total" -v ht="$hc_total" 'BEGIN {
	printf "%-44s %16s %16s %10s\n", "metric", "ours", "hashcat", "ratio"
	r = (ohs != "" && hhs != "" && hhs > 0) ? sprintf("%.3f", ohs / hhs) : "-"
	printf "%-44s %16s %16s %10s\n", "throughput, GH/s (ours/hashcat)", (ohs != "" ? sprintf("%.3f", ohs / 1e9) : "-"), (hhs != "" ? sprintf("%.3f", hhs / 1e9) : "-"), r
	r = (ot != "" && ht != "" && ot > 0) ? sprintf("%.2f", ht / ot) : "-"
	printf "%-44s %16s %16s %10s\n", "10 x difficulty 10, total s (hashcat/ours)", (ot != "" ? ot : "-"), (ht != "" ? ht : "-"), r
	if (ot != "" && ht != "") printf "%-44s %16.3f %16.3f\n", "mean per challenge, s", ot / 10, ht / 10
}'
if [ $fail = 0 ]; then echo "all checks passed"; else echo "some checks FAILED"; fi
exit $fail
