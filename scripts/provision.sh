#!/usr/bin/env bash
# Installs and starts what the test suite needs on a Debian machine (run as root):
# Docker Engine (docker.io) with a running dockerd, Debian's hashcat with PoCL for
# CPU OpenCL, debootstrap, the OpenSSH client (ssh, ssh-keygen), Debian's python3 with
# the cryptography package (the OAEP compatibility test decrypts with it), iptables,
# e2fsprogs and util-linux (leases get their own firewalled network and a loop-mounted
# ext4 disk), Debian's chromium (the dashboard's tests drive it headless), systemd's
# systemd-analyze (the service units are checked with it), and the SSH test image built
# from Debian packages. Idempotent: re-running skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pair in dockerd:docker.io hashcat:hashcat debootstrap:debootstrap ssh:openssh-client ssh-keygen:openssh-client \
	iptables:iptables mkfs.ext4:e2fsprogs losetup:mount fallocate:util-linux chromium:chromium systemd-analyze:systemd; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
[ -e /etc/OpenCL/vendors/pocl.icd ] || need+=(pocl-opencl-icd)
# The tests look for cryptography in python3 on PATH (a pyenv python, say) and then in
# Debian's /usr/bin/python3; Debian's package serves the second.
if ! { command -v python3 >/dev/null 2>&1 && python3 -c 'import cryptography' 2>/dev/null; } &&
	! /usr/bin/python3 -c 'import cryptography' 2>/dev/null; then
	need+=(python3-cryptography)
fi
# minisign: the release tests check that it verifies compute's signatures and compute its.
command -v minisign >/dev/null 2>&1 || need+=(minisign)
if [ ${#need[@]} -gt 0 ]; then
	echo "provision: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
	# A mirror hiccup should not fail the run: three tries, a pause between them.
	for try in 1 2 3; do
		if apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; then
			break
		fi
		[ "$try" = 3 ] && { echo "provision: apt-get failed three times installing ${need[*]}" >&2; exit 1; }
		echo "provision: apt-get failed (try $try), retrying in 10 s" >&2
		sleep 10
	done
fi

# Start dockerd when no daemon answers.
if ! docker info >/dev/null 2>&1; then
	echo "provision: starting dockerd"
	mkdir -p /var/log
	setsid nohup dockerd >/var/log/compute-dockerd.log 2>&1 </dev/null &
	for _ in $(seq 1 60); do
		docker info >/dev/null 2>&1 && break
		sleep 1
	done
	docker info >/dev/null 2>&1 || { echo "provision: dockerd did not start; see /var/log/compute-dockerd.log" >&2; tail -20 /var/log/compute-dockerd.log >&2; exit 1; }
fi

# The SSH test image (Debian + openssh-server, from debootstrap).
if [ -x scripts/build-test-image.sh ]; then
	scripts/build-test-image.sh
fi
