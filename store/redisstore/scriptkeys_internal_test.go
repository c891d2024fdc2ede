package redisstore

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Every script touches exactly one key, the one given as KEYS[1], so
// that it runs on Redis Cluster, where a script may touch only keys it is
// given, all of one slot ("All the keys accessed by the script must be
// explicitly provided as input key arguments", EVAL's documentation). A
// single server does not check this; this test reads every script of the
// package, and the cluster tests run them.
func TestScriptsTouchOneDeclaredKey(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	call := regexp.MustCompile(`redis\.call\('(\w+)',\s*([^,)]+)`)
	anyKey := regexp.MustCompile(`KEYS\[[^\]]*\]`)
	scripts := 0
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			c, ok := n.(*ast.CallExpr)
			if !ok || len(c.Args) != 1 {
				return true
			}
			if sel, ok := c.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "NewScript" {
				return true
			}
			lit, ok := c.Args[0].(*ast.BasicLit)
			if !ok {
				t.Errorf("%s: a script that is not a literal", fset.Position(c.Pos()))
				return true
			}
			src, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			scripts++
			at := fset.Position(c.Pos())
			calls := call.FindAllStringSubmatch(src, -1)
			if len(calls) == 0 {
				t.Errorf("%s: no redis.call found: the test no longer reads the script", at)
			}
			for _, m := range calls {
				if arg := strings.TrimSpace(m[2]); arg != "KEYS[1]" {
					t.Errorf("%s: %s on %s, not KEYS[1]", at, m[1], arg)
				}
			}
			for _, k := range anyKey.FindAllString(src, -1) {
				if k != "KEYS[1]" {
					t.Errorf("%s: uses %s: a script must touch one key", at, k)
				}
			}
			return true
		})
	}
	if scripts < 10 {
		t.Fatalf("found %d scripts: the test no longer finds them", scripts)
	}
}
