package scenario

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clusterTimeout bounds each wait of the cluster helper: the cluster
// forming, a failover, a node rejoining.
const clusterTimeout = 20 * time.Second

// RedisCluster is a private Redis Cluster of three masters, each with one
// replica, every node with an append-only file synced on every write, a
// node timeout of one second and no delay before a full resync, so that a
// test can kill a master, see its replica take over, and start the old
// master again as a replica, in a few seconds.
type RedisCluster struct {
	Nodes []*ClusterNode
	cli   string
}

// ClusterNode is one redis-server of a RedisCluster.
type ClusterNode struct {
	Addr string
	bus  int
	bin  string
	dir  string
	cmd  *exec.Cmd
}

// StartRedisCluster starts six redis-server processes (the ones on PATH)
// on free ports, makes them a cluster with redis-cli --cluster create
// --cluster-replicas 1, waits until every node says cluster_state:ok and
// every master has a replica in sync, and stops them when t ends. Without
// redis-server or redis-cli the test is skipped (or fails under CI).
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		noBinary(t, "redis-server")
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		noBinary(t, "redis-cli")
	}
	c := &RedisCluster{cli: cli}
	t.Cleanup(func() {
		for _, n := range c.Nodes {
			n.Kill(t)
		}
	})
	for range 6 {
		n := &ClusterNode{bin: bin, dir: t.TempDir(), Addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), bus: freePort(t)}
		n.Start(t)
		c.Nodes = append(c.Nodes, n)
	}
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.await(t, "every master to have a replica in sync", func() bool {
		return c.healthy(c.Nodes) && len(c.Masters()) == 3
	})
	return c
}

// Addrs returns the address of every node, masters and replicas: the
// seed list of a cluster client.
func (c *RedisCluster) Addrs() []string {
	var addrs []string
	for _, n := range c.Nodes {
		addrs = append(addrs, n.Addr)
	}
	return addrs
}

// Masters returns the nodes that are up and masters now.
func (c *RedisCluster) Masters() []*ClusterNode {
	var ms []*ClusterNode
	for _, n := range c.Nodes {
		if n.cmd != nil && c.info(n, "replication")["role"] == "master" {
			ms = append(ms, n)
		}
	}
	return ms
}

// Failover kills a master (SIGKILL): the one that serves key's slot when
// a key is given, else any. It waits until its replica has taken
// over (the surviving nodes say cluster_state:ok and there are three
// masters again), then starts the old master again and waits until it
// has rejoined as a replica in sync. It returns how long the cluster had
// a master down: from the kill until the surviving nodes were ok again.
func (c *RedisCluster) Failover(t testing.TB, key ...string) time.Duration {
	t.Helper()
	masters := c.Masters()
	down := masters[0]
	if len(key) > 0 {
		down = c.serving(t, masters, key[0])
	}
	start := time.Now()
	down.Kill(t)
	var up []*ClusterNode
	for _, n := range c.Nodes {
		if n != down {
			up = append(up, n)
		}
	}
	c.await(t, "the killed master's replica to take over", func() bool {
		return len(c.Masters()) == 3 && c.clusterOK(up)
	})
	took := time.Since(start)
	down.Start(t)
	c.await(t, "the old master to rejoin as a replica", func() bool {
		return c.healthy(c.Nodes) && len(c.Masters()) == 3
	})
	return took
}

// serving returns the master of masters that serves key's slot.
func (c *RedisCluster) serving(t testing.TB, masters []*ClusterNode, key string) *ClusterNode {
	t.Helper()
	slot, err := strconv.Atoi(strings.TrimSpace(c.run(masters[0], "cluster", "keyslot", key)))
	if err != nil {
		t.Fatalf("CLUSTER KEYSLOT %s: %v", key, err)
	}
	for _, n := range masters {
		for line := range strings.Lines(c.run(n, "cluster", "nodes")) {
			f := strings.Fields(line)
			if len(f) < 9 || !strings.Contains(f[2], "myself") {
				continue
			}
			for _, r := range f[8:] {
				lo, hi, ok := strings.Cut(r, "-")
				if !ok {
					hi = lo
				}
				a, errA := strconv.Atoi(lo)
				b, errB := strconv.Atoi(hi)
				if errA == nil && errB == nil && a <= slot && slot <= b {
					return n
				}
			}
		}
	}
	t.Fatalf("no master serves slot %d of %s", slot, key)
	return nil
}

// await polls ok until it holds, and fails t after clusterTimeout.
func (c *RedisCluster) await(t testing.TB, what string, ok func() bool) {
	t.Helper()
	if !waitFor(clusterTimeout, ok) {
		var state strings.Builder
		for _, n := range c.Nodes {
			fmt.Fprintf(&state, "%s (up %v): %s\n", n.Addr, n.cmd != nil, c.run(n, "cluster", "nodes"))
		}
		t.Fatalf("Redis Cluster: gave up waiting for %s after %v:\n%s", what, clusterTimeout, state.String())
	}
}

// clusterOK reports whether every node of ns says cluster_state:ok.
func (c *RedisCluster) clusterOK(ns []*ClusterNode) bool {
	for _, n := range ns {
		if c.info(n, "cluster")["cluster_state"] != "ok" {
			return false
		}
	}
	return true
}

// healthy reports whether every node of ns is up and says cluster_state:ok,
// and every replica among them has its link to its master up.
func (c *RedisCluster) healthy(ns []*ClusterNode) bool {
	for _, n := range ns {
		if n.cmd == nil {
			return false
		}
		if c.info(n, "cluster")["cluster_state"] != "ok" {
			return false
		}
		r := c.info(n, "replication")
		if r["role"] == "slave" && r["master_link_status"] != "up" {
			return false
		}
	}
	return true
}

// info returns INFO section of n (CLUSTER INFO for "cluster") as a map;
// an empty one when n does not answer.
func (c *RedisCluster) info(n *ClusterNode, section string) map[string]string {
	var out string
	if section == "cluster" {
		out = c.run(n, "cluster", "info")
	} else {
		out = c.run(n, "info", section)
	}
	m := map[string]string{}
	for line := range strings.Lines(out) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = v
		}
	}
	return m
}

// run runs a redis-cli command against n and returns its output, or ""
// when it fails.
func (c *RedisCluster) run(n *ClusterNode, args ...string) string {
	host, port, _ := strings.Cut(n.Addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, c.cli, append([]string{"-h", host, "-p", port}, args...)...).Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// Start implements Server: it starts the node (again) with its data and
// its nodes.conf, and waits until it accepts connections.
func (n *ClusterNode) Start(t testing.TB) {
	t.Helper()
	_, port, _ := strings.Cut(n.Addr, ":")
	n.cmd = exec.Command(n.bin, "--bind", "127.0.0.1", "--port", port, "--dir", n.dir,
		"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(n.bus),
		"--cluster-config-file", filepath.Join(n.dir, "nodes.conf"), "--cluster-node-timeout", "1000",
		"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--repl-diskless-sync-delay", "0",
		"--daemonize", "no", "--logfile", filepath.Join(n.dir, "log"))
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool { return dialable(n.Addr) }) {
		log, _ := os.ReadFile(filepath.Join(n.dir, "log"))
		t.Fatalf("redis-server (cluster node) on %s did not come up: %s", n.Addr, log)
	}
}

// Kill implements Server: SIGKILL, a crash.
func (n *ClusterNode) Kill(t testing.TB) {
	if n.cmd == nil {
		return
	}
	n.cmd.Process.Kill()
	n.cmd.Wait()
	n.cmd = nil
}
