#!/bin/sh
# Entry point of the compute SSH image: applies the lease's credentials (delivered as
# files by the miner before the container starts, never on a command line), generates
# this container's own host keys on first start, then runs sshd in the foreground.
set -eu

lease=/etc/compute/lease
if [ -f "$lease/chpasswd" ]; then
	# chpasswd reads "user:password" on stdin; the file is removed once applied.
	chpasswd <"$lease/chpasswd"
	rm -f "$lease/chpasswd"
fi
if [ -f "$lease/authorized_keys" ]; then
	install -d -m 700 /root/.ssh
	mv "$lease/authorized_keys" /root/.ssh/authorized_keys
	chmod 600 /root/.ssh/authorized_keys
	# Key-only login: this drop-in sorts before 50-compute.conf, and sshd keeps the first value.
	printf 'PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n' \
		>/etc/ssh/sshd_config.d/00-compute-keyonly.conf
fi

for t in ed25519 ecdsa; do
	[ -s "/etc/ssh/ssh_host_${t}_key" ] || ssh-keygen -q -t "$t" -N '' -f "/etc/ssh/ssh_host_${t}_key"
done
install -d -m 755 /run/sshd
exec /usr/sbin/sshd -D -e
