package oauthlogin_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// modRequires returns the module paths a go.mod requires, direct or
// indirect.
func modRequires(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	block := false
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case block && f[0] == ")":
			block = false
		case block:
			out = append(out, f[0])
		case f[0] == "require" && len(f) > 1 && f[1] == "(":
			block = true
		case f[0] == "require" && len(f) > 2:
			out = append(out, f[1])
		}
	}
	return out
}

// An app that imports only the root package and providers gets in its
// module graph what the root module requires: the core's dependencies and
// theirs, never a store backend's driver or the examples' browser. Those
// live in their own modules (store/pgstore, store/redisstore,
// store/sqlitestore, examples).
func TestRootModuleRequiresOnlyTheCore(t *testing.T) {
	core := []string{
		"github.com/coreos/go-oidc/v3",
		"github.com/go-jose/go-jose/v4",
		"github.com/gorilla/securecookie",
		"golang.org/x/oauth2",
		"golang.org/x/sync",
		"golang.org/x/text",
	}
	for _, m := range modRequires(t, "go.mod") {
		if !slices.Contains(core, m) {
			t.Errorf("the root module requires %s: only the core's dependencies belong there; a backend's go in its own module", m)
		}
	}
}

// modules returns the directory of every module in the tree, "." first.
func modules(t *testing.T) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.Name() == "go.mod" {
			dirs = append(dirs, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(dirs)
	return dirs
}

// Every module is in go.work, builds on its own against this tree (its
// replace of the root module points here), and is tested: .ci/run's test
// patterns and the README's test command list every module but bench
// (bench/ci.sh runs it), and they list the same.
func TestEveryModuleIsTested(t *testing.T) {
	work, err := os.ReadFile("go.work")
	if err != nil {
		t.Fatal(err)
	}
	var used []string
	for _, m := range regexp.MustCompile(`(?m)^\s+(\.[^\s]*)$`).FindAllStringSubmatch(string(work), -1) {
		used = append(used, filepath.Clean(m[1]))
	}
	slices.Sort(used)
	mods := modules(t)
	if !slices.Equal(used, mods) {
		t.Errorf("go.work uses %q; the modules in the tree are %q", used, mods)
	}

	var want []string
	for _, m := range mods {
		if m != "." {
			b, err := os.ReadFile(filepath.Join(m, "go.mod"))
			if err != nil {
				t.Fatal(err)
			}
			r := regexp.MustCompile(`github\.com/oauthlogin/oauthlogin => (\S+)`).FindSubmatch(b)
			if r == nil || filepath.Join(m, string(r[1])) != "." {
				t.Errorf("%s/go.mod does not replace github.com/oauthlogin/oauthlogin with this tree's root", m)
			}
		}
		switch m {
		case ".":
			want = append(want, "./...")
		case "bench":
		default:
			want = append(want, "./"+m+"/...")
		}
	}
	slices.Sort(want)

	ci, err := os.ReadFile(filepath.Join(".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^pkgs=\((.*)\)$`).FindSubmatch(ci)
	if m == nil {
		t.Fatal(".ci/run has no pkgs=(...) line")
	}
	ciPkgs := strings.Fields(string(m[1]))
	if got := slices.Sorted(slices.Values(ciPkgs)); !slices.Equal(got, want) {
		t.Errorf(".ci/run tests %q, want every module but bench: %q", got, want)
	}

	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	cmd := regexp.MustCompile(`(?m)^go test -race (.*)$`).FindSubmatch(readme)
	if cmd == nil {
		t.Fatal("README.md shows no `go test -race` command")
	}
	if got := strings.Fields(string(cmd[1])); !slices.Equal(got, ciPkgs) {
		t.Errorf("README.md's test command tests %q, .ci/run %q", got, ciPkgs)
	}
}
