#!/usr/bin/env bash
# Builds the SSH image that compute lease containers run (and the tests use) from Debian
# packages: debootstrap (bookworm, minbase) + openssh-server, imported with `docker import`.
# The Debian mirror is read from this machine's apt sources at run time.
#
# Idempotent: skips when the image exists and carries this script's content hash; the root
# filesystem tarball is cached under .cache/compute-ssh-image/ so a rebuild is an import.
#
# Environment: COMPUTE_SSH_IMAGE (tag, default compute-ssh:test), COMPUTE_DEBIAN_MIRROR
# (overrides the mirror read from apt sources), COMPUTE_SSH_IMAGE_FORCE=1 (rebuild).
set -euo pipefail
cd "$(dirname "$0")/.."

image=${COMPUTE_SSH_IMAGE:-compute-ssh:test}
suite=bookworm
label=org.sn27.compute.image-hash
cache=.cache/compute-ssh-image

hash=$(cat scripts/build-test-image.sh docker/compute-entry.sh docker/sshd-compute.conf | sha256sum | cut -c1-16)

if [ "${COMPUTE_SSH_IMAGE_FORCE:-0}" != 1 ]; then
	have=$(docker image inspect --format "{{index .Config.Labels \"$label\"}}" "$image" 2>/dev/null || true)
	if [ "$have" = "$hash" ]; then
		echo "build-test-image: $image is up to date ($hash)"
		exit 0
	fi
fi

# debian_mirror prints the first URI of the apt source serving $suite (deb822 .sources
# files first, then sources.list); a non-security source is the fallback.
debian_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v suite="$suite" '
			function flush() { if (uri != "" && match_suite && !found) { print uri; found = 1 }
			                   if (uri != "" && fallback == "" && uri !~ /security/) fallback = uri
			                   uri = ""; match_suite = 0 }
			/^[[:space:]]*$/ { flush(); next }
			/^[Uu][Rr][Ii][Ss]:/ { uri = $2 }
			/^[Ss]uites:/ { for (i = 2; i <= NF; i++) if ($i == suite) match_suite = 1 }
			END { flush(); if (!found && fallback != "") print fallback }
		' "$f"
	done
	if [ -f /etc/apt/sources.list ]; then
		awk -v suite="$suite" '
			$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
			              if ($(i+1) == suite) { print $i; exit } }
		' /etc/apt/sources.list
	fi
}

mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9

tarball="$cache/rootfs-$hash.tar"
if [ ! -s "$tarball" ]; then
	mirror=${COMPUTE_DEBIAN_MIRROR:-$(debian_mirror | head -n1)}
	[ -n "$mirror" ] || { echo "build-test-image: no Debian mirror found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list; set COMPUTE_DEBIAN_MIRROR" >&2; exit 1; }
	command -v debootstrap >/dev/null || { echo "build-test-image: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
	root="$cache/root"
	rm -rf "$root"
	keyring=()
	[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] && keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
	echo "build-test-image: debootstrap $suite from $mirror"
	# Three tries: a mirror hiccup should not fail the build.
	for try in 1 2 3; do
		if debootstrap --variant=minbase --include=openssh-server "${keyring[@]}" "$suite" "$root" "$mirror" >"$cache/debootstrap.log" 2>&1; then
			break
		fi
		if [ "$try" = 3 ]; then
			echo "build-test-image: debootstrap failed three times; see $cache/debootstrap.log" >&2
			tail -20 "$cache/debootstrap.log" >&2
			exit 1
		fi
		echo "build-test-image: debootstrap failed (try $try), retrying in 10 s" >&2
		rm -rf "$root"
		sleep 10
	done

	install -m 0755 docker/compute-entry.sh "$root/usr/local/sbin/compute-entry"
	install -m 0644 docker/sshd-compute.conf "$root/etc/ssh/sshd_config.d/50-compute.conf"
	install -d -m 0700 "$root/etc/compute" "$root/etc/compute/lease"
	# Every container generates its own host keys on first start.
	rm -f "$root"/etc/ssh/ssh_host_*
	# pam_loginuid cannot write the audit login uid inside a container; make it optional.
	sed -i 's/^session[[:space:]]\+required[[:space:]]\+pam_loginuid.so/session optional pam_loginuid.so/' "$root/etc/pam.d/sshd"
	# Keep the image small.
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
		"$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
		"$root"/var/log/*.log "$root"/var/log/apt/*
	tar -C "$root" --numeric-owner -cf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
	rm -rf "$root"
	# Older tarballs of previous script versions are no longer needed.
	find "$cache" -maxdepth 1 -name 'rootfs-*.tar' ! -name "rootfs-$hash.tar" -delete
fi

echo "build-test-image: importing $tarball as $image"
docker import \
	--change 'CMD ["/usr/local/sbin/compute-entry"]' \
	--change 'EXPOSE 22' \
	--change "LABEL $label=$hash" \
	--message "compute SSH image ($suite minbase + openssh-server)" \
	"$tarball" "$image" >/dev/null
echo "build-test-image: $image ready ($hash, $(docker image inspect --format '{{.Size}}' "$image") bytes)"
