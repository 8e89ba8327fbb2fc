#!/usr/bin/env bash
# GPU check and benchmark of the cuda proof-of-work solver, against hashcat.
#
# Run from the repository root on a machine with an NVIDIA GPU (H100, H200 or
# any CUDA GPU) and its driver:
#
#   bash bench/gpu.sh build   # where Go is: builds bench/out/{compute,*.test}
#   bash bench/gpu.sh         # on the GPU machine (builds first when Go is
#                             # there, unless GPU_BENCH_NOBUILD=1)
#
# hashcat comes from .hc/ (made by ../shared/tools/hashcat-carry.sh: Debian's
# hashcat with its modules and kernels; 'build' prunes its kernels to mode 610,
# so that bench/out and .hc travel in well under 64 MiB); without .hc/ a
# hashcat on PATH is used, and without either the hashcat columns stay empty.
# The solver finds NVRTC itself; hashcat gets the CUDA toolkit's (or any found)
# through a libnvrtc.so link; COMPUTE_NVRTC=/path/to/libnvrtc.so.N sets both.
#
# Steps: NVML vs nvidia-smi; the miner's specs against the renter's GPU filter;
# NVRTC compiles both kernel builds; the solver's GPU tests (difficulties 7-10,
# an exhausted keyspace, a storm of 40 short deadlines, throughput); the bench
# report (difficulty 7 checked by a CPU brute force, 10 s throughput and 3 s on
# the one-block kernel, 10 random difficulty-10 challenges on the resident
# solver); hashcat's throughput (-b -m 610 -O -w 4), hashcat on our difficulty
# 7-9 answers, and, after one untimed run that compiles its kernel, one hashcat
# process per challenge on the same 10 challenges, checked against our answers;
# a table of ratios. Then, for information: the CLI, kernel variants
# (GPU_BENCH_VARIANTS="base;-DKERNEL_MIN_BLOCKS=4;..."), the SASS, and an ncu
# profile of both kernels where ncu is installed (GPU_BENCH_NCU=0 skips it,
# =ours profiles only ours).
#
# Logs go to bench/out/logs; when $OUT is set (a scratch folder that is
# collected afterwards) they are also packed into $OUT/logs.tgz, with the
# report in $OUT/report.txt.
# Exit status: 0 when every check passed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/bench/out
logs=$out/logs
mkdir -p "$out"
fail=0
note() { printf '\n== %s [%ss]\n' "$*" "$SECONDS"; }
bad() { echo "FAIL: $*"; fail=1; }

build() {
	note "build"
	go build -trimpath -ldflags='-s -w' -o "$out/compute" ./cmd/compute || bad "go build ./cmd/compute"
	for p in pow/cuda gpu specs; do
		go test -c -trimpath -ldflags='-s -w' -o "$out/$(basename $p).test" ./internal/$p || { bad "build $p tests"; exit 1; }
	done
	# Keep only what mode 610 needs of hashcat's kernels (and m00400-pure.cl,
	# which hashcat checks for at start): the device tool
	# carries at most 64 MiB.
	if [ -d .hc/share/OpenCL ]; then
		find .hc/share/OpenCL -name 'm[0-9]*' ! -name 'm00610*' ! -name 'm00400-pure.cl' -delete
	fi
	du -sh "$out" .hc 2>/dev/null
}

pack() {
	if [ -n "${OUT:-}" ] && [ -d "$OUT" ]; then
		cp "$logs/report.txt" "$OUT/report.txt" 2>/dev/null
		tar czf "$OUT/logs.tgz" -C "$out" logs 2>/dev/null
	fi
}

if [ "${1:-}" = build ]; then
	build
	exit $fail
fi
if [ -z "${GPU_BENCH_NOBUILD:-}" ] && command -v go >/dev/null; then
	build
elif [ ! -x "$out/cuda.test" ] || [ ! -x "$out/gpu.test" ] || [ ! -x "$out/specs.test" ]; then
	echo "no Go here and no prebuilt bench/out/*.test: run 'bash bench/gpu.sh build' first and carry bench/out" >&2
	exit 2
fi
rm -rf "$logs"
mkdir -p "$logs"
trap pack EXIT

note "machine"
nvidia-smi --query-gpu=index,name,driver_version,memory.total,clocks.sm,clocks.max.sm,clocks.max.memory,power.limit --format=csv || bad "nvidia-smi"
nvidia-smi >"$logs/nvidia-smi.txt" 2>&1
echo "cpus: $(nproc)"

# NVRTC: the solver searches the usual places itself and prefers one not newer
# than the driver. hashcat needs one on the loader's path: take the CUDA
# toolkit's (it matches the driver where the toolkit came with it), else any
# found. COMPUTE_NVRTC set by the caller wins for both.
find /usr/local /usr/lib /usr/lib64 /opt -name 'libnvrtc.so*' 2>/dev/null | grep -v builtins >"$logs/nvrtc-found.txt"
cat "$logs/nvrtc-found.txt"
nvrtc=${COMPUTE_NVRTC:-}
if [ -z "$nvrtc" ]; then
	nvrtc=$(grep -E '^/usr/local/cuda[^/]*/(lib64|targets/[^/]+/lib)/libnvrtc\.so\.[0-9]+$' "$logs/nvrtc-found.txt" | sort -V | tail -1)
	[ -n "$nvrtc" ] || nvrtc=$(grep -E 'libnvrtc\.so\.[0-9]+$' "$logs/nvrtc-found.txt" | sort -V | tail -1)
fi
echo "nvrtc for hashcat: ${nvrtc:-none}"
if [ -n "$nvrtc" ]; then
	mkdir -p /tmp/nv
	ln -sf "$nvrtc" /tmp/nv/libnvrtc.so
	ln -sf "$nvrtc" /tmp/nv/libnvrtc.so.1
	# libnvrtc loads libnvrtc-builtins from its own directory or the search path.
	export LD_LIBRARY_PATH=/tmp/nv:$(dirname "$(readlink -f "$nvrtc")")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
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
COMPUTE_REQUIRE_GPU=1 timeout 120 "$out/gpu.test" -test.v -test.count=1 2>&1 | tee "$logs/gpu-test.log" | grep -E '^(---|ok|FAIL|PASS)|GPU [0-9]+:|inventory|_test.go'
[ "${PIPESTATUS[0]}" = 0 ] || bad "internal/gpu tests"

note "miner specs vs the renter's GPU filter"
COMPUTE_REQUIRE_GPU=1 timeout 120 "$out/specs.test" -test.v -test.count=1 -test.run 'TestSpecsGPUs|TestGPUModel' 2>&1 | tee "$logs/specs-test.log" | grep -E '^(---|ok|FAIL|PASS)|_test.go'
[ "${PIPESTATUS[0]}" = 0 ] || bad "internal/specs GPU test"

note "cuda solver tests (NVRTC compile, difficulties 7-10, not found, cancellation storm, throughput)"
(cd internal/pow/cuda && COMPUTE_REQUIRE_GPU=1 COMPUTE_KERNEL_DUMP=$logs/kernel timeout 300 "$out/cuda.test" -test.v -test.count=1 -test.timeout=5m \
	-test.run 'TestNVRTCCompiles|TestNewPlan|TestGPUSolve|TestGPUNotFound|TestGPUThroughput') 2>&1 |
	tee "$logs/cuda-test.log" | grep -E '^(---|ok|FAIL|PASS)|_test.go|level=(WARN|ERROR)|GPU ready|CUDA found'
[ "${PIPESTATUS[0]}" = 0 ] || bad "internal/pow/cuda tests"

note "bench report (resident solver)"
report=$logs/report.txt
rm -f "$report"
(cd internal/pow/cuda && COMPUTE_REQUIRE_GPU=1 COMPUTE_GPU_BENCH_OUT=$report timeout 300 "$out/cuda.test" -test.v -test.count=1 \
	-test.timeout=5m -test.run 'TestGPUBenchReport') >"$logs/bench-test.log" 2>&1 || bad "bench report (see logs/bench-test.log)"
grep -E '^(---|ok|FAIL)|_test.go' "$logs/bench-test.log"
cat "$report" 2>/dev/null

# hc_plain prints the first password of a hashcat outfile, decoding the
# $HEX[...] form hashcat writes for passwords holding its separator ':' or
# other special characters.
hc_plain() {
	local p
	p=$(head -1 "$1" 2>/dev/null)
	if [[ $p =~ ^\$HEX\[([0-9a-fA-F]*)\]$ ]]; then
		printf '%b' "$(echo "${BASH_REMATCH[1]}" | sed 's/../\\x&/g')"
	else
		printf '%s' "$p"
	fi
}

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
	timeout 240 "$hashcat" -b -m 610 -O -w 4 --backend-ignore-opencl </dev/null >"$logs/hashcat-bench.log" 2>&1
	grep -E 'Speed|Hash-Mode|rror|CUDA API|Backend Device' "$logs/hashcat-bench.log"
	# With several GPUs hashcat prints Speed.#* (the total); else Speed.#1.
	line=$(grep -E '^Speed\.#\*' "$logs/hashcat-bench.log" | head -1)
	[ -n "$line" ] || line=$(grep -E '^Speed\.#1\.' "$logs/hashcat-bench.log" | head -1)
	if [ -n "$line" ]; then
		read -r val unit < <(echo "$line" | sed -E 's/^[^:]*:[[:space:]]*([0-9.]+)[[:space:]]+([kMGT]?H\/s).*/\1 \2/')
		hc_hs=$(to_hs "$val" "$unit")
	else
		bad "no speed in hashcat's benchmark output"
	fi

	note "hashcat, one process per challenge (same 10 difficulty-10 challenges)"
	hc_total=0
	mask='?1?1?1?1?1?1?1?1?1?1'
	# hashcat reads keys from standard input (status, quit): give it none, or it
	# eats the rest of the report this loop reads. One untimed run first, so that
	# its kernel is compiled and cached, as on a miner that ran it before.
	read -r _ _ hs cs _ _ < <(grep '^challenge ' "$report" | head -1)
	if [ -n "${hs:-}" ]; then
		printf '$BLAKE2$%s\n' "$hs" >"$logs/hc-warm.hash"
		t0=$SECONDS
		timeout 120 "$hashcat" --backend-ignore-opencl --potfile-disable -O -w 4 -m 610 -a 3 -D 2 \
			--outfile "$logs/hc-warm.out" --outfile-format 2 -1 "$cs" "$logs/hc-warm.hash" "$mask" </dev/null >"$logs/hc-warm.log" 2>&1
		echo "untimed warm-up run (kernel compile and cache): $((SECONDS - t0)) s"
	fi
	while read -r tag d hs cs ours; do
		[ "$tag" = check ] || continue
		mask_d=$(printf '?1%.0s' $(seq "$d"))
		printf '$BLAKE2$%s\n' "$hs" >"$logs/hc-d$d.hash"
		rm -f "$logs/hc-d$d.out"
		timeout 90 "$hashcat" --backend-ignore-opencl --potfile-disable -O -w 4 -m 610 -a 3 -D 2 \
			--outfile "$logs/hc-d$d.out" --outfile-format 2 -1 "$cs" "$logs/hc-d$d.hash" "$mask_d" </dev/null >"$logs/hc-d$d.log" 2>&1
		theirs=$(hc_plain "$logs/hc-d$d.out")
		status=ok
		if [ "$theirs" != "$ours" ]; then
			status=MISMATCH
			bad "difficulty $d: ours '$ours', hashcat '$theirs'"
		fi
		printf 'difficulty %2s  ours %-12s hashcat %-12s %s\n' "$d" "$ours" "$theirs" "$status"
	done <"$report"
	while read -r tag n hs cs ours secs; do
		[ "$tag" = challenge ] || continue
		hf=$logs/hc-$n.hash
		of=$logs/hc-$n.out
		printf '$BLAKE2$%s\n' "$hs" >"$hf"
		rm -f "$of"
		t0=$(date +%s.%N)
		timeout 90 "$hashcat" --backend-ignore-opencl --potfile-disable -O -w 4 -m 610 -a 3 -D 2 \
			--outfile "$of" --outfile-format 2 -1 "$cs" "$hf" "$mask" </dev/null >"$logs/hc-$n.log" 2>&1
		t1=$(date +%s.%N)
		dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
		hc_total=$(awk -v a="$hc_total" -v b="$dt" 'BEGIN { printf "%.4f", a + b }')
		theirs=$(hc_plain "$of")
		status=ok
		if [ "$theirs" != "$ours" ]; then
			status=MISMATCH
			bad "challenge $n: ours '$ours', hashcat '$theirs'"
		fi
		printf 'challenge %2s  ours %-12s %8.3f s   hashcat %-12s %8.3f s   %s\n' "$n" "$ours" "$secs" "$theirs" "$dt" "$status"
	done <"$report"
	grep -hE '^(Time.Started|Speed.#1)' "$logs"/hc-0.log 2>/dev/null
fi

note "summary"
our_hs=$(awk '$1 == "throughput" { print $2 }' "$report" 2>/dev/null)
our_full=$(awk '$1 == "throughput_full" { print $2 }' "$report" 2>/dev/null)
our_total=$(awk '$1 == "challenge" { s += $6; n++ } END { if (n) printf "%.4f", s }' "$report" 2>/dev/null)
awk -v ohs="$our_hs" -v ofull="$our_full" -v hhs="$hc_hs" -v ot="$our_total" -v ht="$hc_total" 'BEGIN {
	printf "%-44s %16s %16s %10s\n", "metric", "ours", "hashcat", "ratio"
	r = (ohs != "" && hhs != "" && hhs > 0) ? sprintf("%.3f", ohs / hhs) : "-"
	printf "%-44s %16s %16s %10s\n", "throughput, GH/s (ours/hashcat)", (ohs != "" ? sprintf("%.3f", ohs / 1e9) : "-"), (hhs != "" ? sprintf("%.3f", hhs / 1e9) : "-"), r
	r = (ofull != "" && hhs != "" && hhs > 0) ? sprintf("%.3f", ofull / hhs) : "-"
	printf "%-44s %16s %16s %10s\n", "  one-block kernel (40-char salt), GH/s", (ofull != "" ? sprintf("%.3f", ofull / 1e9) : "-"), "", r
	r = (ot != "" && ht != "" && ot > 0) ? sprintf("%.2f", ht / ot) : "-"
	printf "%-44s %16s %16s %10s\n", "10 x difficulty 10, total s (hashcat/ours)", (ot != "" ? ot : "-"), (ht != "" ? ht : "-"), r
	if (ot != "" && ht != "") printf "%-44s %16.3f %16.3f\n", "mean per challenge, s", ot / 10, ht / 10
}' | tee "$logs/summary.txt"
if [ $fail = 0 ]; then echo "all checks passed"; else echo "some checks FAILED"; fi
pack

# Information only from here: failures do not change the exit status.
if [ -x "$out/compute" ]; then
	note "the CLI: compute benchmark --solver cuda / auto"
	timeout 60 "$out/compute" benchmark --solver cuda --throughput --duration 5s 2>&1 | tail -5
	timeout 60 "$out/compute" benchmark --solver auto --difficulties 9 --count 2 2>&1 | tail -8
fi

if [ -n "${GPU_BENCH_VARIANTS:-}" ]; then
	note "kernel variants"
	(cd internal/pow/cuda && COMPUTE_GPU_VARIANTS=$GPU_BENCH_VARIANTS timeout 240 "$out/cuda.test" -test.v -test.count=1 \
		-test.run 'TestGPUKernelVariants') 2>&1 | tee "$logs/variants.log" | grep -E 'variant|^(---|ok|FAIL)'
	pack
fi

if command -v cuobjdump >/dev/null; then
	note "SASS (kernel_sm90_0: short messages, _1: one block)"
	for c in "$logs"/kernel/kernel_sm90_*.cubin; do
		[ -f "$c" ] || continue
		cuobjdump -sass "$c" >"${c%.cubin}.sass" 2>&1
		echo "$(basename "$c"): $(cuobjdump -res-usage "$c" 2>&1 | grep -oE 'REG:[0-9]+ STACK:[0-9]+')"
	done
fi
find /root /usr/share/hashcat -name 'm00610_a3-optimized*.kernel' 2>/dev/null | head -3 | while read -r k; do
	cp "$k" "$logs/"
done
pack

if [ "${GPU_BENCH_NCU:-1}" != 0 ] && command -v ncu >/dev/null; then
	note "ncu: our kernel"
	(cd internal/pow/cuda && timeout 150 ncu --clock-control none --set full -k regex:blake2b_mask -s 25 -c 1 \
		-o "$logs/ncu-ours" -f "$out/cuda.test" -test.count=1 -test.run 'TestGPUThroughput') >"$logs/ncu-ours.log" 2>&1
	tail -3 "$logs/ncu-ours.log"
	if [ -f "$logs/ncu-ours.ncu-rep" ]; then
		ncu -i "$logs/ncu-ours.ncu-rep" --page details >"$logs/ncu-ours.txt" 2>&1
		ncu -i "$logs/ncu-ours.ncu-rep" --page raw >"$logs/ncu-ours-raw.txt" 2>&1
		grep -E 'Duration|Registers Per|Achieved Occupancy|Compute \(SM\) Throughput|Executed Ipc A|Issue Slots Busy|SM Busy' "$logs/ncu-ours.txt" | head -12
		grep -E 'sm__inst_executed_pipe_(alu|fma|fmaheavy|fmalite)\.avg\.pct|sm__pipe_(alu|fma|fmaheavy)_cycles_active\.avg\.pct' "$logs/ncu-ours-raw.txt" | head -12
	fi
	pack
	if [ -n "$hashcat" ] && [ "${GPU_BENCH_NCU:-1}" != ours ]; then
		note "ncu: hashcat's kernel"
		timeout 150 ncu --clock-control none --section SpeedOfLight --section ComputeWorkloadAnalysis --section InstructionStats \
			--section Occupancy --section LaunchStats --metrics sm__inst_executed_pipe_alu.avg.pct_of_peak_sustained_active,sm__inst_executed_pipe_fma.avg.pct_of_peak_sustained_active \
			-k regex:m00610 -s 8 -c 1 -o "$logs/ncu-hashcat" -f \
			"$hashcat" -b -m 610 -O -w 4 --backend-ignore-opencl >"$logs/ncu-hashcat.log" 2>&1
		tail -3 "$logs/ncu-hashcat.log"
		if [ -f "$logs/ncu-hashcat.ncu-rep" ]; then
			ncu -i "$logs/ncu-hashcat.ncu-rep" --page details >"$logs/ncu-hashcat.txt" 2>&1
			ncu -i "$logs/ncu-hashcat.ncu-rep" --page raw >"$logs/ncu-hashcat-raw.txt" 2>&1
			grep -E 'Duration|Registers Per|Block Size|Grid Size|Achieved Occupancy|Compute \(SM\) Throughput|Executed Ipc A|Issue Slots Busy' "$logs/ncu-hashcat.txt" | head -12
			grep -E 'sm__inst_executed_pipe_(alu|fma)\.avg\.pct' "$logs/ncu-hashcat-raw.txt" | head -6
		fi
		pack
	fi
fi
note "done"
exit $fail
