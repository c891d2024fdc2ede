package oauthlogin_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The READMEs name only Go identifiers that exist: every backticked or
// fenced `oauthlogin.X`, `providers.X`, `redisstore.X` (and the other
// packages of this tree), `Config.Sessions.IdleTimeout`, `m.Refresh`,
// `ErrNoSession` or `GitHub(cfg)` is looked up in the package's exported
// API (fields and methods followed through named types), so a rename that
// leaves a README behind fails here.
func TestReadmeIdentifiersExist(t *testing.T) {
	api := loadAPI(t, map[string]string{
		"oauthlogin":     ".",
		"providers":      "providers",
		"cookiestore":    "store/cookiestore",
		"redisstore":     "store/redisstore",
		"pgstore":        "store/pgstore",
		"sqlitestore":    "store/sqlitestore",
		"sqlstore":       "store/sqlstore",
		"storetest":      "store/storetest",
		"oauthlogintest": "oauthlogintest",
	})
	// home is the package whose names a README uses unqualified.
	for file, home := range map[string]string{
		"README.md":           "oauthlogin",
		"store/README.md":     "oauthlogin",
		"providers/README.md": "providers",
	} {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, ref := range goRefs(string(text)) {
			ok, known := api.resolve(home, ref)
			if !known {
				continue
			}
			checked++
			if !ok && !readmeIdentifierExceptions[ref.chain] {
				t.Errorf("%s names `%s`, which the code does not have", file, ref.chain)
			}
		}
		if checked < 10 {
			t.Errorf("%s: only %d identifiers checked: is the extraction broken?", file, checked)
		}
	}
}

// readmeIdentifierExceptions are chains that look like Go identifiers but
// are not this tree's (none today).
var readmeIdentifierExceptions = map[string]bool{}

// TestReadmeIdentifiersCatchesDeadNames keeps the check honest: names that
// do not exist are reported, ones that do are not.
func TestReadmeIdentifiersCatchesDeadNames(t *testing.T) {
	api := loadAPI(t, map[string]string{"oauthlogin": ".", "providers": "providers"})
	for _, tc := range []struct {
		text string
		ok   bool
	}{
		{"`oauthlogin.New`", true},
		{"`Config.Sessions.IdleTimeout`", true},
		{"`m.Refresh(ctx, s)`", true},
		{"`ErrNoSession`", true},
		{"`oauthlogin.Error.Code`", true},
		{"`Store.Lock`", true},
		{"`providers.Config.OfflineAccess`", true},
		{"```go\nm, err := oauthlogin.New(oauthlogin.Config{Keys: oauthlogin.Keys{}})\n```", true},
		{"`oauthlogin.CodeNoSession`", false},
		{"`Config.CookieKeys`", false},
		{"`Config.Sessions.Idle`", false},
		{"`m.RefreshSession(ctx, s, true)`", false},
		{"`m.Begin`", false},
		{"`ErrRedirectNotAllowed`", false},
		{"`ErrExpiredToken`", false},
		{"`providers.GitHubb(cfg)`", false},
		{"```go\nst := oauthlogin.NewMemoryStor()\n```", false},
	} {
		refs := goRefs(tc.text)
		all, n := true, 0
		for _, ref := range refs {
			ok, known := api.resolve("oauthlogin", ref)
			if known {
				n++
				all = all && ok
			}
		}
		if n == 0 || all != tc.ok {
			t.Errorf("%q: %d checked, all found = %v, want %v", tc.text, n, all, tc.ok)
		}
	}
}

// A goRef is a dotted chain of identifiers found in a README's code,
// and whether a call's parenthesis follows it.
type goRef struct {
	chain string
	call  bool
}

var (
	fenceRE  = regexp.MustCompile("(?s)```[a-z]*\n(.*?)\n```")
	inlineRE = regexp.MustCompile("`([^`\n]+)`")
	chainRE  = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(\()?`)
)

// goRefs returns the identifier chains of text's fenced blocks and
// backticked spans. A chain preceded by "." or "/" (a path, a file name,
// the rest of a selector on a call's result) is skipped.
func goRefs(text string) []goRef {
	var code []string
	for _, m := range fenceRE.FindAllStringSubmatch(text, -1) {
		code = append(code, m[1])
	}
	for _, m := range inlineRE.FindAllStringSubmatch(fenceRE.ReplaceAllString(text, ""), -1) {
		code = append(code, m[1])
	}
	var refs []goRef
	for _, c := range code {
		for _, loc := range chainRE.FindAllStringSubmatchIndex(c, -1) {
			if loc[0] > 0 && strings.ContainsRune("./-:{", rune(c[loc[0]-1])) {
				continue
			}
			end := loc[1]
			call := loc[2] >= 0
			if call {
				end--
			}
			if end < len(c) && strings.ContainsRune("/-", rune(c[end])) {
				continue // a path or a flag, not Go
			}
			refs = append(refs, goRef{chain: c[loc[0]:end], call: call})
		}
	}
	return refs
}

// pkgAPI is the exported API of some packages, read from their source.
type pkgAPI map[string]*pkgDecls

type pkgDecls struct {
	values  map[string]bool                // funcs, vars, consts
	types   map[string]ast.Expr            // type name → its type expression
	methods map[string]map[string]bool     // type name → its methods
	fields  map[string]map[string]ast.Expr // struct type → field → type
	iface   map[string]map[string]bool     // interface type → its methods
	embeds  map[string][]ast.Expr          // type → embedded types
}

// loadAPI parses the non-test files of each package directory.
func loadAPI(t *testing.T, dirs map[string]string) pkgAPI {
	t.Helper()
	api := pkgAPI{}
	for name, dir := range dirs {
		d := &pkgDecls{
			values:  map[string]bool{},
			types:   map[string]ast.Expr{},
			methods: map[string]map[string]bool{},
			fields:  map[string]map[string]ast.Expr{},
			iface:   map[string]map[string]bool{},
			embeds:  map[string][]ast.Expr{},
		}
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("package %s: no Go files in %s (%v)", name, dir, err)
		}
		fset := token.NewFileSet()
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			for _, decl := range file.Decls {
				switch decl := decl.(type) {
				case *ast.FuncDecl:
					if decl.Recv == nil {
						d.values[decl.Name.Name] = true
						continue
					}
					recv := decl.Recv.List[0].Type
					if star, ok := recv.(*ast.StarExpr); ok {
						recv = star.X
					}
					if id, ok := recv.(*ast.Ident); ok {
						if d.methods[id.Name] == nil {
							d.methods[id.Name] = map[string]bool{}
						}
						d.methods[id.Name][decl.Name.Name] = true
					}
				case *ast.GenDecl:
					for _, spec := range decl.Specs {
						switch spec := spec.(type) {
						case *ast.ValueSpec:
							for _, n := range spec.Names {
								d.values[n.Name] = true
							}
						case *ast.TypeSpec:
							d.addType(spec.Name.Name, spec.Type)
						}
					}
				}
			}
		}
		api[name] = d
	}
	return api
}

func (d *pkgDecls) addType(name string, typ ast.Expr) {
	d.types[name] = typ
	switch typ := typ.(type) {
	case *ast.StructType:
		d.fields[name] = map[string]ast.Expr{}
		for _, f := range typ.Fields.List {
			if len(f.Names) == 0 {
				d.embeds[name] = append(d.embeds[name], f.Type)
			}
			for _, n := range f.Names {
				d.fields[name][n.Name] = f.Type
			}
		}
	case *ast.InterfaceType:
		d.iface[name] = map[string]bool{}
		for _, f := range typ.Methods.List {
			if len(f.Names) == 0 {
				d.embeds[name] = append(d.embeds[name], f.Type)
			}
			for _, n := range f.Names {
				d.iface[name][n.Name] = true
			}
		}
	}
}

// resolve looks ref up. known is false for chains that name nothing of
// these packages (a variable of the example, another library, prose); ok
// says whether a known chain exists.
func (api pkgAPI) resolve(home string, ref goRef) (ok, known bool) {
	parts := strings.Split(ref.chain, ".")
	pkg, rest := home, parts
	switch {
	case api[parts[0]] != nil:
		pkg, rest = parts[0], parts[1:]
		if len(rest) == 0 {
			return false, false // the package itself
		}
	case parts[0] == "m" && len(parts) > 1 && api["oauthlogin"] != nil:
		pkg, rest = "oauthlogin", append([]string{"Manager"}, parts[1:]...)
	}
	d := api[pkg]
	head := rest[0]
	if !ast.IsExported(head) {
		return false, false
	}
	if _, isType := d.types[head]; isType {
		return api.member(pkg, head, rest[1:]), true
	}
	if d.values[head] {
		return len(rest) == 1, true
	}
	if pkg != home || len(parts) != len(rest) {
		return false, true // pkg.Missing or m.Missing
	}
	// Unqualified: a field of Config ("Sessions.IdleTimeout"), a sentinel
	// ("ErrNoSession") or a call ("GitHub(cfg)") is this package's; any
	// other capitalized word may be prose.
	if _, ok := d.fields["Config"][head]; ok {
		return api.member(pkg, "Config", rest), true
	}
	if strings.HasPrefix(head, "Err") && len(rest) == 1 || ref.call && len(rest) == 1 {
		return false, true
	}
	return false, false
}

// member reports whether the chain of fields and methods rest exists on
// the named type typ of pkg, following embedded types and aliases.
func (api pkgAPI) member(pkg, typ string, rest []string) bool {
	if len(rest) == 0 {
		return true
	}
	d := api[pkg]
	if d == nil {
		return false
	}
	if expr, ok := d.types[typ]; ok {
		if sel, ok := expr.(*ast.SelectorExpr); ok { // an alias or definition from another package
			if id, ok := sel.X.(*ast.Ident); ok && api[id.Name] != nil {
				return api.member(id.Name, sel.Sel.Name, rest)
			}
		}
	}
	name := rest[0]
	if d.methods[typ][name] || d.iface[typ][name] {
		return len(rest) == 1
	}
	if f, ok := d.fields[typ][name]; ok {
		if len(rest) == 1 {
			return true
		}
		p, t := api.named(pkg, f)
		return t != "" && api.member(p, t, rest[1:])
	}
	for _, e := range d.embeds[typ] {
		if p, t := api.named(pkg, e); t != "" && api.member(p, t, rest) {
			return true
		}
	}
	return false
}

// named returns the package and name of a named type expression (T, *T,
// pkg.T); "" for others (slices, maps, funcs).
func (api pkgAPI) named(pkg string, e ast.Expr) (string, string) {
	if star, ok := e.(*ast.StarExpr); ok {
		e = star.X
	}
	switch e := e.(type) {
	case *ast.Ident:
		return pkg, e.Name
	case *ast.SelectorExpr:
		if id, ok := e.X.(*ast.Ident); ok && api[id.Name] != nil {
			return id.Name, e.Sel.Name
		}
	}
	return "", ""
}
