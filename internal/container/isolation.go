package container

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// resourceLabels mark a lease's network and volumes as they mark its container.
func (m *Manager) resourceLabels(l *Lease) map[string]string {
	return map[string]string{LabelOwner: m.cfg.Owner, LabelLease: l.ID}
}

// volumeName is the Docker volume backing one container path of a lease.
func volumeName(l *Lease, path string) string {
	return l.ContainerName + "-" + strings.ReplaceAll(volumeSubdir(path), "/", "-")
}

// leaseDirOf is where a lease's volume lives in the data directory.
func (m *Manager) leaseDirOf(id string) string {
	return filepath.Join(m.cfg.DataDir, leasesDir, id)
}

// provision makes what a lease needs before its container: its own network, the
// firewall rules keeping it off the host, and (when the disk is enforced that way) its
// sized volume and the Docker volumes on it. What could not be made is recorded in l;
// a failure leaves the pieces for teardown.
func (m *Manager) provision(ctx context.Context, l *Lease, lim Limits, log *slog.Logger) error {
	if _, err := m.engine.NetworkCreate(ctx, l.Network, client.NetworkCreateOptions{
		Driver: "bridge",
		Options: map[string]string{
			bridgeNameOption: l.Bridge,
			bridgeICCOption:  "false",
		},
		Labels: m.resourceLabels(l),
	}); err != nil {
		return classify("create the lease network", err)
	}
	if ok, why := m.fw.Support(); ok {
		if err := m.fw.Isolate(ctx, l.Bridge); err != nil {
			return err
		}
		l.Firewalled = true
	} else {
		w := "this host's services are reachable from the lease: " + why
		log.Warn("lease isolation incomplete", "warning", w)
		l.Warnings = append(l.Warnings, w)
	}
	if !lim.DiskVolume {
		return nil
	}
	img, err := m.engine.ImageInspect(ctx, m.cfg.Image)
	if err != nil {
		return classify("inspect the lease image", notFoundAsImage(err))
	}
	dir := m.leaseDirOf(l.ID)
	l.DiskVolume = dir
	if err := m.disk.Create(ctx, dir, volumeSize(lim.DiskBytes, img.Size)); err != nil {
		return err
	}
	for _, p := range volumePaths {
		if _, err := m.engine.VolumeCreate(ctx, client.VolumeCreateOptions{
			Name:   volumeName(l, p),
			Driver: "local",
			// A bind of a directory that exists only on the mounted volume: a daemon
			// that cannot see the mount fails here instead of writing to its own disk.
			DriverOpts: map[string]string{"type": "none", "o": "bind", "device": filepath.Join(dir, volumeMount, volumeSubdir(p))},
			Labels:     m.resourceLabels(l),
		}); err != nil {
			return classify("create the lease volume "+p, err)
		}
	}
	return nil
}

// teardown removes everything of a lease: its container, Docker volumes, network,
// firewall rules and sized volume. Each step treats a missing piece as removed, so a
// retry after a failure finishes the job.
func (m *Manager) teardown(ctx context.Context, l *Lease) error {
	id := l.ContainerID
	if id == "" {
		id = l.ContainerName
	}
	if id != "" {
		if err := m.remove(ctx, id); err != nil {
			return err
		}
	}
	var errs []error
	if l.DiskVolume != "" {
		for _, p := range volumePaths {
			if err := m.removeVolume(ctx, volumeName(l, p)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if l.Network != "" {
		if err := m.removeNetwork(ctx, l.Network); err != nil {
			errs = append(errs, err)
		}
	}
	if l.Firewalled {
		if err := m.fw.Release(ctx, l.Bridge); err != nil {
			errs = append(errs, err)
		}
	}
	if l.DiskVolume != "" && len(errs) == 0 {
		if err := m.disk.Remove(ctx, l.DiskVolume); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) removeVolume(ctx context.Context, name string) error {
	_, err := m.engine.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return classify("remove volume "+name, err)
	}
	return nil
}

func (m *Manager) removeNetwork(ctx context.Context, name string) error {
	_, err := m.engine.NetworkRemove(ctx, name, client.NetworkRemoveOptions{})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return classify("remove network "+name, err)
	}
	return nil
}

// restoreLocked puts back what a reboot of the host takes from a lease, the volume's
// mount and the firewall rules, before its container runs again. Failures are logged:
// a container whose volume is missing cannot start (its bind sources are gone), it
// never writes to the host's disk instead.
func (m *Manager) restoreLocked(ctx context.Context, l *Lease) {
	if l.DiskVolume != "" {
		if err := m.disk.Ensure(ctx, l.DiskVolume); err != nil {
			m.log.Error("the lease volume could not be mounted again", "lease", l.ID, "dir", l.DiskVolume, "err", err)
		}
	}
	if l.Firewalled {
		if err := m.fw.Isolate(ctx, l.Bridge); err != nil {
			m.log.Error("the lease network's firewall rules could not be restored", "lease", l.ID, "bridge", l.Bridge, "err", err)
		}
	}
}

// removeStrays removes the networks, volumes, firewall rules and sized volumes of this
// owner that belong to no lease (an allocation cut short by a crash, or a lease whose
// container is gone). keep is the active lease, if any.
func (m *Manager) removeStrays(ctx context.Context, keep *Lease) {
	stray := func(labels map[string]string) bool {
		return keep == nil || labels[LabelLease] != keep.ID
	}
	fwOK, _ := m.fw.Support()
	filter := make(client.Filters).Add("label", LabelOwner+"="+m.cfg.Owner)
	if vols, err := m.engine.VolumeList(ctx, client.VolumeListOptions{Filters: filter}); err != nil {
		m.log.Warn("listing lease volumes", "err", classify("list volumes", err))
	} else {
		for _, v := range vols.Items {
			if stray(v.Labels) {
				m.log.Info("removing stray lease volume", "volume", v.Name, "lease", v.Labels[LabelLease])
				if err := m.removeVolume(ctx, v.Name); err != nil {
					m.log.Warn("stray volume not removed", "volume", v.Name, "err", err)
				}
			}
		}
	}
	if nets, err := m.engine.NetworkList(ctx, client.NetworkListOptions{Filters: filter}); err != nil {
		m.log.Warn("listing lease networks", "err", classify("list networks", err))
	} else {
		for _, n := range nets.Items {
			if !stray(n.Labels) {
				continue
			}
			m.log.Info("removing stray lease network", "network", n.Name, "lease", n.Labels[LabelLease])
			if err := m.removeNetwork(ctx, n.ID); err != nil {
				m.log.Warn("stray network not removed", "network", n.Name, "err", err)
			}
			if id := n.Labels[LabelLease]; fwOK && id != "" {
				if err := m.fw.Release(ctx, bridgeName(id)); err != nil {
					m.log.Warn("stray firewall rules not removed", "lease", id, "err", err)
				}
			}
		}
	}
	entries, err := os.ReadDir(filepath.Join(m.cfg.DataDir, leasesDir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		m.log.Warn("listing lease volumes", "err", err)
	}
	for _, e := range entries {
		if !e.IsDir() || (keep != nil && e.Name() == keep.ID) {
			continue
		}
		dir := m.leaseDirOf(e.Name())
		m.log.Info("removing stray lease volume", "dir", dir)
		if fwOK {
			if err := m.fw.Release(ctx, bridgeName(e.Name())); err != nil {
				m.log.Warn("stray firewall rules not removed", "lease", e.Name(), "err", err)
			}
		}
		if err := m.disk.Remove(ctx, dir); err != nil {
			m.log.Warn("stray lease volume not removed", "dir", dir, "err", err)
		}
	}
}
