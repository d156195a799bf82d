// Command modproxy writes a file-based Go module proxy holding every module
// of this repository at one version, made from the working tree, so that a
// build with GOWORK=off fetches them exactly as a consumer would:
//
//	go run ./cmd/modproxy -repo ../.. -o /tmp/proxy            # version from VERSION
//	GOWORK=off GOPROXY=file:///tmp/proxy,https://proxy.golang.org \
//	    GONOSUMDB=github.com/backplane-go go build ./...
//
// The modules are those listed by the go.work of the repository. A module's
// zip holds the files git tracks below its directory (their content in the
// working tree; untracked files are left out, as a release would leave them),
// less those of modules nested in it, as golang.org/x/mod/zip lays them out; the proxy answers <module>/@v/list,
// .info, .mod and .zip for that version only. Run it from internal/tools
// with GOWORK=off: that module is not part of the workspace.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/zip"
)

func main() {
	repo := flag.String("repo", ".", "root of the repository (holds go.work and VERSION)")
	out := flag.String("o", "", "directory to write the proxy into (required)")
	version := flag.String("version", "", "version to publish (default: the VERSION file)")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*repo, *out, *version); err != nil {
		fmt.Fprintln(os.Stderr, "modproxy:", err)
		os.Exit(1)
	}
}

func run(repo, out, version string) error {
	repo, err := filepath.Abs(repo)
	if err != nil {
		return err
	}
	if version == "" {
		b, err := os.ReadFile(filepath.Join(repo, "VERSION"))
		if err != nil {
			return err
		}
		version = strings.TrimSpace(string(b))
	}
	if !semver.IsValid(version) || semver.Canonical(version) != version {
		return fmt.Errorf("version %q is not a canonical semantic version", version)
	}
	dirs, err := workspaceModules(repo)
	if err != nil {
		return err
	}
	files, err := gitFiles(repo)
	if err != nil {
		return err
	}
	when, err := git(repo, "log", "-1", "--format=%cI")
	if err != nil {
		return err
	}
	stamp, err := time.Parse(time.RFC3339, strings.TrimSpace(when))
	if err != nil {
		return fmt.Errorf("commit time: %w", err)
	}
	for _, dir := range dirs {
		if err := publish(repo, dir, version, stamp, files, out); err != nil {
			return fmt.Errorf("module in %s: %w", dir, err)
		}
	}
	return nil
}

// workspaceModules returns the directories of go.work's use directives,
// relative to repo and slash-separated ("." for the root).
func workspaceModules(repo string) ([]string, error) {
	name := filepath.Join(repo, "go.work")
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	wf, err := modfile.ParseWork(name, data, nil)
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, u := range wf.Use {
		dirs = append(dirs, path.Clean(filepath.ToSlash(u.Path)))
	}
	if len(dirs) == 0 {
		return nil, errors.New("go.work uses no module")
	}
	return dirs, nil
}

// gitFiles lists the files git tracks that still exist in the working tree.
func gitFiles(repo string) ([]string, error) {
	list, err := git(repo, "ls-files", "-z", "--cached")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var files []string
	for _, f := range strings.Split(list, "\x00") {
		if f == "" || seen[f] {
			continue
		}
		seen[f] = true
		if fi, err := os.Lstat(filepath.Join(repo, f)); err == nil && fi.Mode().IsRegular() {
			files = append(files, f)
		}
	}
	return files, nil
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return string(b), nil
}

// repoFile is a file of the working tree as x/mod/zip sees it.
type repoFile struct {
	rel  string // path inside the module, slash-separated
	name string // path on disk
}

func (f repoFile) Path() string                 { return f.rel }
func (f repoFile) Lstat() (os.FileInfo, error)  { return os.Lstat(f.name) }
func (f repoFile) Open() (io.ReadCloser, error) { return os.Open(f.name) }

func publish(repo, dir, version string, stamp time.Time, files []string, out string) error {
	gomod, err := os.ReadFile(filepath.Join(repo, dir, "go.mod"))
	if err != nil {
		return err
	}
	modPath := modfile.ModulePath(gomod)
	if modPath == "" {
		return errors.New("go.mod names no module")
	}
	m := module.Version{Path: modPath, Version: version}
	var zfiles []zip.File
	prefix := dir + "/"
	for _, f := range files {
		rel := f
		if dir != "." {
			if !strings.HasPrefix(f, prefix) {
				continue
			}
			rel = strings.TrimPrefix(f, prefix)
		}
		// zip.Create leaves out the files of modules nested below this one:
		// it sees their go.mod in the list.
		zfiles = append(zfiles, repoFile{rel: rel, name: filepath.Join(repo, filepath.FromSlash(f))})
	}
	esc, err := module.EscapePath(modPath)
	if err != nil {
		return err
	}
	vdir := filepath.Join(out, filepath.FromSlash(esc), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return err
	}
	var zbuf bytes.Buffer
	if err := zip.Create(&zbuf, m, zfiles); err != nil {
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, stamp.UTC()})
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"list":            []byte(version + "\n"),
		version + ".info": info,
		version + ".mod":  gomod,
		version + ".zip":  zbuf.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(vdir, name), data, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("%s@%s: %d files, %d bytes\n", modPath, version, len(zfiles), zbuf.Len())
	return nil
}
