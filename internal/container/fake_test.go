package container

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"
)

// fakeEngine is an in-memory Engine for unit tests.
type fakeEngine struct {
	mu         sync.Mutex
	info       system.Info
	images     map[string]bool
	containers map[string]*fakeContainer
	next       int
	down       bool  // every call fails as with a dead daemon
	createErr  error // returned by ContainerCreate when set
	// removeGate, when set, holds every ContainerRemove until it is closed (a slow
	// removal); removing is told on it first.
	removeGate chan struct{}
	removing   chan struct{}
	creates    int
	networks   map[string]client.NetworkCreateOptions
	volumes    map[string]client.VolumeCreateOptions
}

type fakeContainer struct {
	opts     client.ContainerCreateOptions
	running  bool
	copied   int
	restarts int
	// files holds the regular files copied in, by absolute path.
	files map[string]string
}

var _ Engine = (*fakeEngine)(nil)

var errDaemonDown = errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")

func newFakeEngine() *fakeEngine {
	return &fakeEngine{
		info: system.Info{NCPU: 4, MemTotal: 8 << 30, Driver: "overlay2",
			DriverStatus: [][2]string{{"Backing Filesystem", "extfs"}}},
		images:     map[string]bool{"img": true},
		containers: map[string]*fakeContainer{},
		networks:   map[string]client.NetworkCreateOptions{},
		volumes:    map[string]client.VolumeCreateOptions{},
	}
}

func (f *fakeEngine) check() error {
	if f.down {
		return errDaemonDown
	}
	return nil
}

func (f *fakeEngine) Info(ctx context.Context, _ client.InfoOptions) (client.SystemInfoResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return client.SystemInfoResult{Info: f.info}, f.check()
}

func (f *fakeEngine) ImageInspect(ctx context.Context, image string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return client.ImageInspectResult{}, err
	}
	if !f.images[image] {
		return client.ImageInspectResult{}, fmt.Errorf("No such image: %s: %w", image, cerrdefs.ErrNotFound)
	}
	return client.ImageInspectResult{}, nil
}

func (f *fakeEngine) ContainerCreate(ctx context.Context, o client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return client.ContainerCreateResult{}, err
	}
	f.creates++
	if f.createErr != nil {
		return client.ContainerCreateResult{}, f.createErr
	}
	if !f.images[o.Config.Image] {
		return client.ContainerCreateResult{}, fmt.Errorf("No such image: %s: %w", o.Config.Image, cerrdefs.ErrNotFound)
	}
	f.next++
	id := fmt.Sprintf("%064d", f.next)
	f.containers[id] = &fakeContainer{opts: o}
	return client.ContainerCreateResult{ID: id}, nil
}

func (f *fakeEngine) get(id string) (*fakeContainer, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	c, ok := f.containers[id]
	if !ok {
		return nil, fmt.Errorf("No such container: %s: %w", id, cerrdefs.ErrNotFound)
	}
	return c, nil
}

func (f *fakeEngine) CopyToContainer(ctx context.Context, id string, o client.CopyToContainerOptions) (client.CopyToContainerResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get(id)
	if err != nil {
		return client.CopyToContainerResult{}, err
	}
	c.copied++
	if c.files == nil {
		c.files = map[string]string{}
	}
	tr := tar.NewReader(o.Content)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return client.CopyToContainerResult{}, err
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			c.files[path.Join(o.DestinationPath, h.Name)] = string(b)
		}
	}
	return client.CopyToContainerResult{}, nil
}

func (f *fakeEngine) CopyFromContainer(ctx context.Context, id string, o client.CopyFromContainerOptions) (client.CopyFromContainerResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get(id)
	if err != nil {
		return client.CopyFromContainerResult{}, err
	}
	body, ok := c.files[o.SourcePath]
	if !ok {
		return client.CopyFromContainerResult{}, fmt.Errorf("Could not find the file %s in container %s: %w", o.SourcePath, id, cerrdefs.ErrNotFound)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: path.Base(o.SourcePath), Mode: 0o644, Size: int64(len(body))})
	io.WriteString(tw, body)
	tw.Close()
	return client.CopyFromContainerResult{Content: io.NopCloser(&buf)}, nil
}

func (f *fakeEngine) ContainerRestart(ctx context.Context, id string, _ client.ContainerRestartOptions) (client.ContainerRestartResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get(id)
	if err == nil {
		c.running = true
		c.restarts++
	}
	return client.ContainerRestartResult{}, err
}

// file returns a file copied into a container ("" when none).
func (f *fakeEngine) file(id, p string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.containers[id]; ok {
		return c.files[p]
	}
	return ""
}

func (f *fakeEngine) ContainerStart(ctx context.Context, id string, _ client.ContainerStartOptions) (client.ContainerStartResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get(id)
	if err == nil {
		c.running = true
	}
	return client.ContainerStartResult{}, err
}

func (f *fakeEngine) ContainerInspect(ctx context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get(id)
	if err != nil {
		return client.ContainerInspectResult{}, err
	}
	return client.ContainerInspectResult{Container: container.InspectResponse{ID: id, State: &container.State{Running: c.running}}}, nil
}

func (f *fakeEngine) ContainerList(ctx context.Context, o client.ContainerListOptions) (client.ContainerListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return client.ContainerListResult{}, err
	}
	var res client.ContainerListResult
	for id, c := range f.containers {
		match := true
		for kv := range o.Filters["label"] {
			k, v, _ := strings.Cut(kv, "=")
			match = match && c.opts.Config.Labels[k] == v
		}
		if !match {
			continue
		}
		state := container.StateExited
		if c.running {
			state = container.StateRunning
		}
		res.Items = append(res.Items, container.Summary{ID: id, Names: []string{"/" + c.opts.Name}, Labels: c.opts.Config.Labels, State: state})
	}
	return res, nil
}

func (f *fakeEngine) ContainerRemove(ctx context.Context, id string, _ client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	f.mu.Lock()
	gate, removing := f.removeGate, f.removing
	f.mu.Unlock()
	if gate != nil {
		if removing != nil {
			removing <- struct{}{}
		}
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.get(id); err != nil {
		return client.ContainerRemoveResult{}, err
	}
	delete(f.containers, id)
	return client.ContainerRemoveResult{}, nil
}

func labelsMatch(labels map[string]string, filters client.Filters) bool {
	for kv := range filters["label"] {
		k, v, _ := strings.Cut(kv, "=")
		if labels[k] != v {
			return false
		}
	}
	return true
}

func (f *fakeEngine) NetworkCreate(ctx context.Context, name string, o client.NetworkCreateOptions) (client.NetworkCreateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return client.NetworkCreateResult{}, err
	}
	if _, ok := f.networks[name]; ok {
		return client.NetworkCreateResult{}, fmt.Errorf("network with name %s already exists: %w", name, cerrdefs.ErrConflict)
	}
	f.networks[name] = o
	return client.NetworkCreateResult{ID: "net-" + name}, nil
}

func (f *fakeEngine) NetworkList(ctx context.Context, o client.NetworkListOptions) (client.NetworkListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return client.NetworkListResult{}, err
	}
	var res client.NetworkListResult
	for name, n := range f.networks {
		if labelsMatch(n.Labels, o.Filters) {
			var s network.Summary
			s.ID, s.Name, s.Labels = "net-"+name, name, n.Labels
			res.Items = append(res.Items, s)
		}
	}
	return res, nil
}

func (f *fakeEngine) NetworkRemove(ctx context.Context, id string, _ client.NetworkRemoveOptions) (client.NetworkRemoveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return client.NetworkRemoveResult{}, err
	}
	name := strings.TrimPrefix(id, "net-")
	if _, ok := f.networks[name]; !ok {
		return client.NetworkRemoveResult{}, fmt.Errorf("network %s not found: %w", id, cerrdefs.ErrNotFound)
	}
	delete(f.networks, name)
	return client.NetworkRemoveResult{}, nil
}

func (f *fakeEngine) VolumeCreate(ctx context.Context, o client.VolumeCreateOptions) (client.VolumeCreateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return client.VolumeCreateResult{}, err
	}
	f.volumes[o.Name] = o
	return client.VolumeCreateResult{Volume: volume.Volume{Name: o.Name, Labels: o.Labels}}, nil
}

func (f *fakeEngine) VolumeList(ctx context.Context, o client.VolumeListOptions) (client.VolumeListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return client.VolumeListResult{}, err
	}
	var res client.VolumeListResult
	for name, v := range f.volumes {
		if labelsMatch(v.Labels, o.Filters) {
			res.Items = append(res.Items, volume.Volume{Name: name, Labels: v.Labels})
		}
	}
	return res, nil
}

func (f *fakeEngine) VolumeRemove(ctx context.Context, id string, _ client.VolumeRemoveOptions) (client.VolumeRemoveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return client.VolumeRemoveResult{}, err
	}
	if _, ok := f.volumes[id]; !ok {
		return client.VolumeRemoveResult{}, fmt.Errorf("no such volume %s: %w", id, cerrdefs.ErrNotFound)
	}
	delete(f.volumes, id)
	return client.VolumeRemoveResult{}, nil
}

// fakeDisk is diskVolumes in memory: a directory per volume, "mounted" when listed.
type fakeDisk struct {
	mu        sync.Mutex
	supported bool
	why       string
	mounted   map[string]int64
	createErr error
}

func newFakeDisk(supported bool) *fakeDisk {
	return &fakeDisk{supported: supported, why: "the miner does not run as root, which loop-mounted volumes need", mounted: map[string]int64{}}
}

func (d *fakeDisk) Support() (bool, string) { return d.supported, d.why }

func (d *fakeDisk) Create(ctx context.Context, dir string, size int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.MkdirAll(filepath.Join(dir, volumeMount), 0o700); err != nil {
		return err
	}
	if d.createErr != nil {
		return d.createErr
	}
	d.mounted[dir] = size
	return nil
}

func (d *fakeDisk) Ensure(ctx context.Context, dir string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := os.Stat(dir); err != nil {
		return err
	}
	if _, ok := d.mounted[dir]; !ok {
		d.mounted[dir] = -1
	}
	return nil
}

func (d *fakeDisk) Free(dir string) (int64, error) { return 1 << 30, nil }

func (d *fakeDisk) Remove(ctx context.Context, dir string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.mounted, dir)
	return os.RemoveAll(dir)
}

func (d *fakeDisk) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.mounted)
}

// fakeFirewall records the isolated bridges.
type fakeFirewall struct {
	mu        sync.Mutex
	supported bool
	bridges   map[string]int // Isolate calls per bridge still isolated
}

func newFakeFirewall(supported bool) *fakeFirewall {
	return &fakeFirewall{supported: supported, bridges: map[string]int{}}
}

func (w *fakeFirewall) Support() (bool, string) {
	if !w.supported {
		return false, "iptables is not installed"
	}
	return true, ""
}

func (w *fakeFirewall) Isolate(ctx context.Context, bridge string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.bridges[bridge]++
	return nil
}

func (w *fakeFirewall) Release(ctx context.Context, bridge string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.bridges, bridge)
	return nil
}

func (w *fakeFirewall) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.bridges)
}

func (f *fakeEngine) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

func (f *fakeEngine) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.containers)
}

func clientNetwork(labels map[string]string) client.NetworkCreateOptions {
	return client.NetworkCreateOptions{Driver: "bridge", Labels: labels}
}

func clientVolume(name string, labels map[string]string) client.VolumeCreateOptions {
	return client.VolumeCreateOptions{Name: name, Driver: "local", Labels: labels}
}
