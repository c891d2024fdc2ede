package scenario

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// freePort returns a TCP port on 127.0.0.1 that nothing listened on a
// moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitFor polls ok every 20ms until it is true, for at most d.
func waitFor(d time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

func dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Redis is a private redis-server process with an append-only file synced
// on every write, so that a kill loses nothing acknowledged.
type Redis struct {
	Addr string
	bin  string
	dir  string
	cmd  *exec.Cmd
}

// StartRedis starts a private Redis (the redis-server on PATH) on a free
// port, and stops it when t ends. Without redis-server the test is skipped
// (or fails under CI).
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		noBinary(t, "redis-server")
	}
	r := &Redis{bin: bin, dir: t.TempDir(), Addr: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	r.Start(t)
	t.Cleanup(func() { r.Kill(t) })
	return r
}

// Start implements Server.
func (r *Redis) Start(t testing.TB) {
	t.Helper()
	_, port, _ := net.SplitHostPort(r.Addr)
	r.cmd = exec.Command(r.bin, "--bind", "127.0.0.1", "--port", port, "--dir", r.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no", "--logfile", filepath.Join(r.dir, "log"))
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool { return dialable(r.Addr) }) {
		log, _ := os.ReadFile(filepath.Join(r.dir, "log"))
		t.Fatalf("redis-server on %s did not come up: %s", r.Addr, log)
	}
}

// Kill implements Server.
func (r *Redis) Kill(t testing.TB) {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	r.cmd.Wait()
	r.cmd = nil
}

// Postgres is a private PostgreSQL cluster in a temp dir, run by pg_ctl
// (as the postgres user when the test runs as root).
type Postgres struct {
	URL  string
	bin  string
	dir  string
	port int
	as   []string
	up   bool
}

// StartPostgres initializes and starts a private PostgreSQL cluster (the
// binaries on PATH or under /usr/lib/postgresql/*/bin) on a free port,
// with trust authentication and a database "test", and stops it and
// removes its files when t ends.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin := pgBin()
	if bin == "" {
		noBinary(t, "initdb (PostgreSQL)")
	}
	dir, err := os.MkdirTemp("", "oauthlogin-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &Postgres{bin: bin, dir: dir, port: freePort(t)}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root and there is no postgres user to run PostgreSQL as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		os.Chmod(dir, 0o755)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		p.as = []string{"runuser", "-u", "postgres", "--"}
	}
	p.run(t, filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
	p.Start(t)
	t.Cleanup(func() { p.Kill(t) })
	return p
}

func pgBin() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.Reverse(dirs) // the newest version first, for versions of the same width
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

func (p *Postgres) run(t testing.TB, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args = append(slices.Clone(p.as), args...)
	if out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
}

// Start implements Server.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	p.run(t, filepath.Join(p.bin, "pg_ctl"), "-D", filepath.Join(p.dir, "data"), "-l", filepath.Join(p.dir, "log"), "-w", "-t", "30",
		"-o", fmt.Sprintf("-k %s -h 127.0.0.1 -p %d -c fsync=off -c max_connections=100", p.dir, p.port), "start")
	p.up = true
}

// Kill implements Server: an immediate shutdown, which is a crash as far
// as the clients and the data are concerned (recovery replays the WAL).
func (p *Postgres) Kill(t testing.TB) {
	t.Helper()
	if !p.up {
		return
	}
	p.run(t, filepath.Join(p.bin, "pg_ctl"), "-D", filepath.Join(p.dir, "data"), "-m", "immediate", "-w", "stop")
	p.up = false
}

func noBinary(t testing.TB, name string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed, and CI is set (source .ci/services.sh)", name)
	}
	t.Skipf("%s is not installed: skipping (source .ci/services.sh installs it)", name)
}
