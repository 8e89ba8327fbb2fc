package container

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The files that tell a renter, inside the container, what the lease was given.
const (
	leaseInfoPath = "/etc/lease" // shell syntax: `. /etc/lease`
	motdPath      = "/etc/motd"  // printed at interactive login
)

// leaseInfo is what /etc/lease and the motd say.
type leaseInfo struct {
	lease *Lease
	lim   Limits
	// diskFree is the space free on the lease's volume once the system files are on
	// it (0: unknown or no volume).
	diskFree int64
}

// diskState says how the asked disk is held: "enforced", "not enforced" or "" (none asked).
func (i leaseInfo) diskState() string {
	switch {
	case i.lease.Requirement.Disk.Capacity == 0:
		return ""
	case i.lease.DiskEnforced:
		return DiskEnforced
	}
	return DiskNotEnforced
}

// diskReason is the warning that says why the disk is not enforced.
func (i leaseInfo) diskReason() string {
	for _, w := range i.lease.Warnings {
		if strings.HasPrefix(w, "disk quota") {
			return w
		}
	}
	return ""
}

// networkState says what the lease's network keeps it from.
func (i leaseInfo) networkState() string {
	switch {
	case i.lease.Network == "":
		return "Docker's default bridge, shared with other containers of this host"
	case i.lease.Firewalled:
		return "its own network; other leases and this host's services are blocked"
	}
	return "its own network; other leases are blocked, this host's services are not (no firewall rules on this host)"
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.,:/+@=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// LeaseFile is /etc/lease: the lease's limits as shell variables.
func (i leaseInfo) LeaseFile() string {
	l, lim := i.lease, i.lim
	var b strings.Builder
	b.WriteString("# What this lease was given, written by the miner when it was allocated.\n")
	b.WriteString("# free, top and df / show the host's totals; these are the limits this container runs under.\n")
	kv := func(k, v string) { fmt.Fprintf(&b, "LEASE_%s=%s\n", k, shellQuote(v)) }
	kv("ID", l.ID)
	kv("START", l.Start.UTC().Format(time.RFC3339))
	b.WriteString(expiryLine(l.Expiry))
	kv("CPUS", strconv.Itoa(lim.CPUCount))
	kv("CPUSET", lim.CPUSet)
	kv("MEMORY_BYTES", strconv.FormatInt(lim.MemoryBytes, 10))
	kv("SWAP_BYTES", strconv.FormatInt(max(lim.MemorySwapBytes-lim.MemoryBytes, 0), 10))
	kv("PIDS_MAX", strconv.FormatInt(lim.PidsLimit, 10))
	kv("DISK_BYTES", strconv.FormatInt(l.Requirement.Disk.Capacity, 10))
	switch i.diskState() {
	case DiskEnforced:
		kv("DISK_ENFORCED", "yes")
	case DiskNotEnforced:
		kv("DISK_ENFORCED", "no")
		kv("DISK_NOTE", i.diskReason())
	default:
		kv("DISK_ENFORCED", "no")
		kv("DISK_NOTE", "no disk size was asked for")
	}
	if l.DiskVolume != "" {
		kv("DISK_PATHS", strings.Join(volumePaths, " "))
		if i.diskFree > 0 {
			kv("DISK_FREE_AT_START", strconv.FormatInt(i.diskFree, 10))
		}
	}
	kv("GPUS", strconv.Itoa(len(lim.GPUIDs)))
	kv("GPU_IDS", strings.Join(lim.GPUIDs, ","))
	kv("NETWORK", i.networkState())
	return b.String()
}

// Motd is /etc/motd: the same for people, at login.
func (i leaseInfo) Motd() string {
	l, lim := i.lease, i.lim
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n", motdHeader(l))
	fmt.Fprintf(&b, "  CPUs     %d (cpuset %s)\n", lim.CPUCount, lim.CPUSet)
	fmt.Fprintf(&b, "  memory   %s, no swap\n", formatBytes(lim.MemoryBytes))
	switch i.diskState() {
	case DiskEnforced:
		if l.DiskVolume != "" {
			fmt.Fprintf(&b, "  disk     %s, enforced (everything writable is on it: %s; see df -h /workspace)\n", formatBytes(l.Requirement.Disk.Capacity), strings.Join(volumePaths, " "))
		} else {
			fmt.Fprintf(&b, "  disk     %s, enforced\n", formatBytes(l.Requirement.Disk.Capacity))
		}
	case DiskNotEnforced:
		fmt.Fprintf(&b, "  disk     %s, NOT enforced by this miner\n", formatBytes(l.Requirement.Disk.Capacity))
	default:
		b.WriteString("  disk     no size asked for, not limited\n")
	}
	if n := len(lim.GPUIDs); n > 0 {
		fmt.Fprintf(&b, "  GPUs     %d\n", n)
	} else {
		b.WriteString("  GPUs     none\n")
	}
	fmt.Fprintf(&b, "  network  %s\n", i.networkState())
	b.WriteString("free, top and df / may show the host's totals; the limits above are what this container gets.\n")
	fmt.Fprintf(&b, "The same in %s (shell syntax).\n\n", leaseInfoPath)
	return b.String()
}

// expiryLine is the LEASE_EXPIRY line of /etc/lease, newline included.
func expiryLine(expiry time.Time) string {
	return "LEASE_EXPIRY=" + shellQuote(expiry.UTC().Format(time.RFC3339)) + "\n"
}

// motdHeader is the first line of the motd: the lease and its end.
func motdHeader(l *Lease) string {
	return fmt.Sprintf("Compute lease %s, until %s.", l.ID, l.Expiry.UTC().Format("2006-01-02 15:04 UTC"))
}

// withExpiry rewrites, in the /etc/lease (file) or motd text a lease was
// given, the line that states its end; ok is false when no line does (the
// renter changed the file), and the text is then left as it is.
func withExpiry(text string, l *Lease, motd bool) (string, bool) {
	lines := strings.SplitAfter(text, "\n")
	for i, line := range lines {
		switch {
		case !motd && strings.HasPrefix(line, "LEASE_EXPIRY="):
			lines[i] = expiryLine(l.Expiry)
		case motd && strings.HasPrefix(line, "Compute lease "+l.ID+", until "):
			lines[i] = motdHeader(l) + "\n"
		default:
			continue
		}
		return strings.Join(lines, ""), true
	}
	return text, false
}
