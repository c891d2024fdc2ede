package oauthlogin_test

import (
	"bytes"
	"os"
	"testing"
)

// The README's quick start is examples/quickstart/main.go, byte for byte:
// the code a reader copies is the code CI compiles and tests.
func TestReadmeQuickStartIsTheExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("examples/quickstart/main.go")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := bytes.Cut(readme, []byte("\n## Quick start\n"))
	if !ok {
		t.Fatal("README.md has no \"## Quick start\" section")
	}
	section, _, _ = bytes.Cut(section, []byte("\n## "))
	_, block, ok := bytes.Cut(section, []byte("\n```go\n"))
	if !ok {
		t.Fatal("the quick start section has no ```go block")
	}
	block, _, ok = bytes.Cut(block, []byte("\n```\n"))
	if !ok {
		t.Fatal("the quick start's ```go block does not end")
	}
	block = append(block, '\n')
	if !bytes.Equal(block, example) {
		line := 1 + bytes.Count(example[:commonPrefix(block, example)], []byte("\n"))
		t.Fatalf("the README's quick start differs from examples/quickstart/main.go from line %d: copy the file into the README", line)
	}
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
