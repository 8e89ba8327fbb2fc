package container

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// sshCaps are the only capabilities a lease container keeps: what sshd (privilege
// separation, chroot, PAM audit, port 22) and package installation need. MKNOD, NET_RAW,
// SETFCAP and SETPCAP are dropped.
var sshCaps = []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETGID", "SETUID", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"}

// ContainerSpec builds the Docker create options of a lease; it is pure.
func ContainerSpec(cfg Config, l *Lease, lim Limits) client.ContainerCreateOptions {
	port := network.MustParsePort("22/tcp")
	pids := lim.PidsLimit
	netMode := "bridge"
	if l.Network != "" {
		netMode = l.Network
	}
	hc := &container.HostConfig{
		PortBindings: network.PortMap{port: {{HostIP: cfg.BindAddress, HostPort: strconv.Itoa(l.Port)}}},
		NetworkMode:  container.NetworkMode(netMode),
		Privileged:   false,
		CapDrop:      []string{"ALL"},
		CapAdd:       append([]string(nil), sshCaps...),
		SecurityOpt:  []string{"no-new-privileges:true"},
		RestartPolicy: container.RestartPolicy{
			Name: container.RestartPolicyUnlessStopped,
		},
		Resources: container.Resources{
			CpusetCpus: lim.CPUSet,
			Memory:     lim.MemoryBytes,
			MemorySwap: lim.MemorySwapBytes,
			PidsLimit:  &pids,
		},
	}
	switch {
	case l.DiskVolume != "":
		// Everything writable is on the lease's sized volume; the rest is read-only.
		hc.ReadonlyRootfs = true
		hc.Tmpfs = map[string]string{"/run": runTmpfs}
		for _, p := range volumePaths {
			hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeVolume, Source: volumeName(l, p), Target: p})
		}
	case lim.DiskBytes > 0:
		hc.StorageOpt = map[string]string{"size": strconv.FormatInt(lim.DiskBytes, 10)}
	}
	if l.Network != "" && lim.DisableIPv6 {
		// The network is IPv4 only; without IPv6 the host's link-local addresses on
		// the bridge are out of reach too.
		hc.Sysctls = map[string]string{"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}
	}
	if len(lim.GPUIDs) > 0 {
		hc.DeviceRequests = []container.DeviceRequest{{
			Driver:       "nvidia",
			DeviceIDs:    append([]string(nil), lim.GPUIDs...),
			Capabilities: [][]string{{"gpu"}},
		}}
	}
	labels := map[string]string{
		LabelOwner:  cfg.Owner,
		LabelLease:  l.ID,
		LabelExpiry: l.Expiry.UTC().Format(time.RFC3339),
		LabelSchema: strconv.Itoa(SchemaVersion),
	}
	if l.ValidatorHotkey != "" {
		labels[LabelHotkey] = l.ValidatorHotkey
	}
	return client.ContainerCreateOptions{
		Name: l.ContainerName,
		Config: &container.Config{
			Image:        cfg.Image,
			Hostname:     "compute-lease",
			Labels:       labels,
			ExposedPorts: network.PortSet{port: {}},
		},
		HostConfig: hc,
	}
}

func (m *Manager) create(ctx context.Context, l *Lease, lim Limits, log *slog.Logger) (string, error) {
	opts := ContainerSpec(m.cfg, l, lim)
	res, err := m.engine.ContainerCreate(ctx, opts)
	if err != nil && lim.DiskBytes > 0 && strings.Contains(strings.ToLower(err.Error()), "storage-opt") {
		w := fmt.Sprintf("disk quota of %d bytes not enforced: %v", lim.DiskBytes, err)
		log.Warn("lease limit not enforced", "warning", w)
		l.Warnings = append(l.Warnings, w)
		l.DiskEnforced = false
		opts.HostConfig.StorageOpt = nil
		res, err = m.engine.ContainerCreate(ctx, opts)
	}
	if err != nil {
		return "", classify("create lease container", notFoundAsImage(err))
	}
	return res.ID, nil
}

// notFoundAsImage: a create or image inspect that finds nothing is missing the image.
func notFoundAsImage(err error) error {
	if cerrdefs.IsNotFound(err) && !strings.Contains(strings.ToLower(err.Error()), "image") {
		return fmt.Errorf("no such image: %w", err)
	}
	return err
}

// deliverFiles copies the password (as a chpasswd line) and the SSH key into the
// created container as private files, which the image's entry point applies and deletes,
// and the lease's limits as /etc/lease and /etc/motd. Nothing secret appears in the
// environment or on a command line. The files go under /etc, which is on the lease's
// volume when the root filesystem is read-only.
func (m *Manager) deliverFiles(ctx context.Context, id, password, sshKey string, li leaseInfo) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := m.cfg.Now()
	rel := func(p string) string { return strings.TrimPrefix(p, "/etc/") }
	for _, d := range []string{"/etc/compute/", "/" + leaseDir + "/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel(d), Mode: 0o700, ModTime: now}); err != nil {
			return fmt.Errorf("pack credentials: %w", err)
		}
	}
	type file struct {
		name, body string
		mode       int64
	}
	files := []file{
		{"/" + leaseDir + "/chpasswd", rootUser + ":" + password + "\n", 0o600},
		{leaseInfoPath, li.LeaseFile(), 0o644},
		{motdPath, li.Motd(), 0o644},
	}
	if sshKey != "" {
		files = append(files, file{"/" + leaseDir + "/authorized_keys", sshKey + "\n", 0o600})
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel(f.name), Mode: f.mode, Size: int64(len(f.body)), ModTime: now}); err != nil {
			return fmt.Errorf("pack credentials: %w", err)
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			return fmt.Errorf("pack credentials: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("pack credentials: %w", err)
	}
	if _, err := m.engine.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: "/etc", Content: &buf}); err != nil {
		return classify("copy credentials into the lease container", err)
	}
	return nil
}
