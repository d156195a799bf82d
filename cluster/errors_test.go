package cluster

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backplane-go/backplane"
)

// Every error of this package that wraps another is made by errorf, which
// keeps the package's name to one mention: no call of fmt.Errorf in the
// package's sources starts its message with the prefix.
func TestErrorfAtEveryWrappingSite(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	sites := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(x ast.Node) bool {
			call, ok := x.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			format, err := strconv.Unquote(lit.Value)
			if err != nil || !strings.HasPrefix(format, prefix) {
				return true
			}
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				if fn.Name == "errorf" {
					sites++
				}
			case *ast.SelectorExpr:
				if pkg, ok := fn.X.(*ast.Ident); ok && pkg.Name == "fmt" && fn.Sel.Name == "Errorf" {
					t.Errorf("%v: fmt.Errorf(%q): use errorf, which names the package once", fset.Position(call.Pos()), format)
				}
			}
			return true
		})
	}
	if sites == 0 {
		t.Fatal("no call of errorf found: the scan is broken")
	}
}

// The messages of errors made at wrapping sites, with a sentinel of this
// package inside, name the package once.
func TestErrorsNamePackageOnce(t *testing.T) {
	a := startNode(t, Config{Name: "a"})
	b := startNode(t, Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret()})
	if err := b.RegisterKind("k", func(context.Context, []byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	parent := backplane.New()
	defer parent.Drop()
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	long, cancelLong := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancelLong()
	closed := startNode(t, Config{Name: "gone"})
	_ = closed.Close()

	errs := map[string]error{}
	_, errs["spawn unknown kind"] = a.Spawn(long, "b", "nope", nil, parent, backplane.Monitor)
	_, errs["spawn too large"] = a.Spawn(long, "b", "k", make([]byte, MaxArgLen+1), parent, backplane.Monitor)
	_, errs["spawn unknown node"] = a.Spawn(short, "nobody", "k", nil, parent, backplane.Monitor)
	_, errs["spawn here unknown kind"] = a.Spawn(long, "a", "nope", nil, parent, backplane.Monitor)
	_, errs["spawn after close"] = closed.Spawn(long, "b", "k", nil, parent, backplane.Monitor)
	_, errs["lookup not found"] = a.Lookup(long, "b", "nope")
	_, errs["lookup here not found"] = a.Lookup(long, "a", "nope")
	_, errs["lookup unknown node"] = a.Lookup(short, "nobody", "x")
	_, errs["node line after close"] = closed.NodeLine(long, b.ID())
	errs["register kind twice"] = b.RegisterKind("k", func(context.Context, []byte) error { return nil })
	errs["register kind after close"] = closed.RegisterKind("k", func(context.Context, []byte) error { return nil })
	errs["register after close"] = closed.Register("x", parent)
	dev := backplane.New()
	defer dev.Drop()
	errs["register name"] = a.RegisterName(long, "n", dev)
	errs["register name taken"] = b.RegisterName(long, "n", parent)
	_, errs["where is not found"] = b.WhereIs(long, "nope")
	errs["leave not member"] = b.Leave(long, "g", parent)
	errs["unregister name after close"] = closed.UnregisterName(long, "n")
	errs["register name, no registry"] = registryErr(long, ErrClosed)
	errs["unreachable, closed"] = &UnreachableError{Node: b.ID(), Reason: ErrClosed}
	errs["unreachable, wrapped"] = &UnreachableError{Node: b.ID(), Reason: errorf("cluster: x: %w", ErrClosed)}
	if errs["register name"] != nil {
		t.Errorf("register name: %v", errs["register name"])
	}
	delete(errs, "register name")
	for what, err := range errs {
		if err == nil {
			t.Errorf("%s: no error", what)
			continue
		}
		if n := strings.Count(err.Error(), "cluster"); n != 1 {
			t.Errorf("%s: %q names the package %d times", what, err, n)
		}
		if !strings.HasPrefix(err.Error(), prefix) {
			t.Errorf("%s: %q does not start with %q", what, err, prefix)
		}
	}
	if !errors.Is(errs["spawn unknown kind"], ErrUnknownKind) || !errors.Is(errs["spawn after close"], ErrClosed) ||
		!errors.Is(errs["lookup unknown node"], ErrUnknownNode) || !errors.Is(errs["unreachable, wrapped"], ErrClosed) {
		t.Error("a wrapped error no longer matches its sentinel")
	}
}

func startNode(t *testing.T, cfg Config) *Node {
	t.Helper()
	cfg.Heartbeat, cfg.Timeout = 20*time.Millisecond, 2*time.Second
	n, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}
