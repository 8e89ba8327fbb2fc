package container

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/system"
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
	creates    int
}

type fakeContainer struct {
	opts    client.ContainerCreateOptions
	running bool
	copied  int
}

var _ Engine = (*fakeEngine)(nil)

var errDaemonDown = errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")

func newFakeEngine() *fakeEngine {
	return &fakeEngine{
		info: system.Info{NCPU: 4, MemTotal: 8 << 30, Driver: "overlay2",
			DriverStatus: [][2]string{{"Backing Filesystem", "extfs"}}},
		images:     map[string]bool{"img": true},
		containers: map[string]*fakeContainer{},
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
	if err == nil {
		c.copied++
	}
	return client.CopyToContainerResult{}, err
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
	defer f.mu.Unlock()
	if _, err := f.get(id); err != nil {
		return client.ContainerRemoveResult{}, err
	}
	delete(f.containers, id)
	return client.ContainerRemoveResult{}, nil
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
