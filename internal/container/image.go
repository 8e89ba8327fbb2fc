package container

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"sort"

	"github.com/moby/moby/client"

	"github.com/sn27/compute/docker"
)

// ImageEngine is the part of the Docker Engine API that builds lease images.
type ImageEngine interface {
	ImageBuild(ctx context.Context, buildContext io.Reader, opts client.ImageBuildOptions) (client.ImageBuildResult, error)
	ImageImport(ctx context.Context, src client.ImageImportSource, ref string, opts client.ImageImportOptions) (client.ImageImportResult, error)
}

var _ ImageEngine = (*client.Client)(nil)

// entryPoint is the command of the lease image; it runs sshd in the foreground.
const entryPoint = "/usr/local/sbin/compute-entry"

// BuildImage builds the lease image from a build context holding a Dockerfile (the
// embedded docker.Context for `compute miner image build`) through the Docker API, with
// optional build args (BASE picks the base image). Build output goes to progress.
func BuildImage(ctx context.Context, e ImageEngine, buildContext fs.FS, tag string, buildArgs map[string]string, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	var buf bytes.Buffer
	if err := tarFS(&buf, buildContext); err != nil {
		return fmt.Errorf("pack build context: %w", err)
	}
	args := map[string]*string{}
	for k, v := range buildArgs {
		args[k] = &v
	}
	res, err := e.ImageBuild(ctx, &buf, client.ImageBuildOptions{
		Tags: []string{tag}, Remove: true, ForceRemove: true, BuildArgs: args, Dockerfile: "Dockerfile",
	})
	if err != nil {
		return classify("build image "+tag, err)
	}
	defer res.Body.Close()
	return readJSONMessages(res.Body, progress, "build image "+tag)
}

// ImportRootfs imports a root filesystem tarball (as scripts/build-test-image.sh makes)
// as the lease image, with the entry point, port 22 and the given labels.
func ImportRootfs(ctx context.Context, e ImageEngine, rootfs io.Reader, tag string, labels map[string]string) error {
	changes := []string{`CMD ["` + entryPoint + `"]`, "EXPOSE 22"}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		changes = append(changes, fmt.Sprintf("LABEL %q=%q", k, labels[k]))
	}
	res, err := e.ImageImport(ctx, client.ImageImportSource{Source: rootfs, SourceName: "-"}, tag,
		client.ImageImportOptions{Changes: changes, Message: "compute lease image"})
	if err != nil {
		return classify("import image "+tag, err)
	}
	defer res.Close()
	return readJSONMessages(res, io.Discard, "import image "+tag)
}

// readJSONMessages copies a Docker progress stream and returns its first error.
func readJSONMessages(r io.Reader, progress io.Writer, op string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var msg struct {
			Stream string `json:"stream"`
			Status string `json:"status"`
			Error  string `json:"error"`
		}
		if json.Unmarshal(sc.Bytes(), &msg) != nil {
			continue
		}
		if msg.Error != "" {
			return classify(op, fmt.Errorf("%s", msg.Error))
		}
		if msg.Stream != "" {
			io.WriteString(progress, msg.Stream)
		} else if msg.Status != "" {
			fmt.Fprintln(progress, msg.Status)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: read progress: %w", op, err)
	}
	return nil
}

// tarFS writes the regular files of fsys as a tar stream; scripts keep their exec bit.
func tarFS(w io.Writer, fsys fs.FS) error {
	tw := tar.NewWriter(w)
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		mode := int64(0o644)
		if bytes.HasPrefix(data, []byte("#!")) {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: path, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// ImageOptions is what `compute miner image build` asks for.
type ImageOptions struct {
	// Tag names the image (default DefaultImage).
	Tag string
	// Base overrides the Dockerfile's CUDA base image.
	Base string
	// Rootfs, when set, is a root filesystem tarball (scripts/build-test-image.sh caches
	// one under .cache/compute-ssh-image/) to import instead of building the Dockerfile.
	Rootfs io.Reader
	// Progress receives build output (nil: discarded).
	Progress io.Writer
}

// PrepareImage makes the lease image: it imports Rootfs when given, else builds the
// embedded Dockerfile (which needs the base image's registry and Ubuntu's mirrors).
func PrepareImage(ctx context.Context, e ImageEngine, o ImageOptions) error {
	if o.Tag == "" {
		o.Tag = DefaultImage
	}
	if o.Rootfs != nil {
		return ImportRootfs(ctx, e, o.Rootfs, o.Tag, nil)
	}
	var args map[string]string
	if o.Base != "" {
		args = map[string]string{"BASE": o.Base}
	}
	return BuildImage(ctx, e, docker.Context, o.Tag, args, o.Progress)
}

// CheckImage reports ErrImageMissing when the lease image is not on the Docker host, so
// a miner can say so at start rather than at the first allocation.
func CheckImage(ctx context.Context, e Engine, image string) error {
	if _, err := e.ImageInspect(ctx, image); err != nil {
		return classify("inspect image "+image, notFoundAsImage(err))
	}
	return nil
}
