package apikey_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxTrackedFileSize is the largest file the repository may track. Every
// tracked file of the root module goes into its module zip, which every go get
// downloads; the release check holds the whole zip to 1 MiB.
const maxTrackedFileSize = 1 << 20

// TestTrackedFilesAreSource fails if a file tracked by git is a compiled
// binary (ELF, Mach-O, PE, WebAssembly, an ar archive) or is over 1 MiB:
// nothing built or generated is tracked, and the module zips stay small. It
// needs the git checkout; it skips without one (as in a module zip), except
// under CI=true, where it fails.
func TestTrackedFilesAreSource(t *testing.T) {
	root, files := trackedFiles(t)
	var offenders []string
	for _, name := range files {
		problem, err := trackedFileProblem(filepath.Join(root, filepath.FromSlash(name)))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the working tree; git rm will untrack it
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if problem != "" {
			offenders = append(offenders, name+": "+problem)
		}
	}
	if len(offenders) > 0 {
		t.Errorf("tracked files that must not be tracked (git rm --cached them, and extend .gitignore):\n\t%s",
			strings.Join(offenders, "\n\t"))
	}
}

// trackedFiles returns the top directory of the git checkout holding this
// package and the files git tracks there, as slash-separated paths.
func trackedFiles(t *testing.T) (string, []string) {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and "+format, args...)
		}
		t.Skipf(format, args...)
	}
	if _, err := exec.LookPath("git"); err != nil {
		unavailable("git is not installed: %v", err)
	}
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		unavailable("not in a git checkout: %v", err)
	}
	root := strings.TrimSpace(string(out))
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = root
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	var files []string
	for _, name := range strings.Split(string(out), "\x00") {
		if name != "" {
			files = append(files, name)
		}
	}
	if len(files) == 0 {
		t.Fatal("git ls-files lists no file")
	}
	return root, files
}

// trackedFileProblem says why the file at path must not be tracked, or
// returns "" if it may be.
func trackedFileProblem(path string) (string, error) {
	info, err := os.Lstat(path)
	if err != nil {
		return "", err
	}
	if !info.Mode().IsRegular() {
		return "", nil // a symbolic link or a submodule: no content of its own
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", err
	}
	if kind := binaryKind(head[:n]); kind != "" {
		return "compiled binary (" + kind + ")", nil
	}
	if info.Size() > maxTrackedFileSize {
		return fmt.Sprintf("%d bytes, over the %d-byte limit", info.Size(), maxTrackedFileSize), nil
	}
	return "", nil
}

// binaryKind names the executable or object format whose magic number starts
// head, or returns "".
func binaryKind(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return "ELF"
	case bytes.HasPrefix(head, []byte("\x00asm")):
		return "WebAssembly"
	case bytes.HasPrefix(head, []byte("!<arch>\n")):
		return "ar archive"
	case isPE(head):
		return "PE"
	}
	if len(head) >= 4 {
		switch binary.BigEndian.Uint32(head) {
		case 0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe:
			return "Mach-O"
		case 0xcafebabe, 0xbebafeca:
			return "Mach-O universal"
		}
	}
	return ""
}

// isPE reports whether head starts a Windows executable: the MZ header and
// the PE signature at the offset the header gives (so a text file that starts
// with "MZ" is not taken for one). Linkers put that offset within the first
// few hundred bytes; head holds 4 KiB.
func isPE(head []byte) bool {
	if !bytes.HasPrefix(head, []byte("MZ")) {
		return false
	}
	if len(head) < 0x40 {
		return true
	}
	off := int(binary.LittleEndian.Uint32(head[0x3c:]))
	if off < 0x40 || off+4 > len(head) {
		return false // no PE header where one would be: text that happens to start with MZ
	}
	return bytes.Equal(head[off:off+4], []byte("PE\x00\x00"))
}

// TestTrackedFileProblem checks the detector on each kind of file it must
// refuse, and on text that resembles none.
func TestTrackedFileProblem(t *testing.T) {
	pe := make([]byte, 0x80)
	copy(pe, "MZ")
	binary.LittleEndian.PutUint32(pe[0x3c:], 0x40)
	copy(pe[0x40:], "PE\x00\x00")
	mzText := []byte("MZ is how this line starts, and it goes on long enough to hold a DOS header: " +
		strings.Repeat("text ", 20))
	cases := []struct {
		name    string
		content []byte
		want    string // a substring of the problem; "" for none
	}{
		{"elf", []byte("\x7fELF\x02\x01\x01\x00rest"), "ELF"},
		{"macho64", []byte{0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1}, "Mach-O"},
		{"macho32", []byte{0xfe, 0xed, 0xfa, 0xce, 0, 0, 0, 7}, "Mach-O"},
		{"macho-swapped", []byte{0xce, 0xfa, 0xed, 0xfe}, "Mach-O"},
		{"fat", []byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2}, "Mach-O universal"},
		{"fat-swapped", []byte{0xbe, 0xba, 0xfe, 0xca}, "Mach-O universal"},
		{"pe", pe, "PE"},
		{"wasm", []byte("\x00asm\x01\x00\x00\x00"), "WebAssembly"},
		{"archive", []byte("!<arch>\n__.PKGDEF"), "ar archive"},
		{"large", bytes.Repeat([]byte("a"), maxTrackedFileSize+1), "over the"},
		{"at-limit", bytes.Repeat([]byte("a"), maxTrackedFileSize), ""},
		{"go", []byte("package apikey\n"), ""},
		{"mz-text", mzText, ""},
		{"empty", nil, ""},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			if err := os.WriteFile(path, c.content, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := trackedFileProblem(path)
			if err != nil {
				t.Fatal(err)
			}
			if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
				t.Errorf("trackedFileProblem = %q, want one naming %q", got, c.want)
			}
		})
	}
}

// TestNestedModulesCarryNoReplace fails if a go.mod of the repository has a
// replace or exclude directive (go install pkg@version refuses both, so the
// published command would not install), or if a nested module requires an
// apikit module at a version that go.work does not replace with the
// checkout. The release check (.ci/release-check) proves the rest from a
// module proxy.
func TestNestedModulesCarryNoReplace(t *testing.T) {
	root, files := trackedFiles(t)
	const lib = "github.com/apikit/apikey"
	workReplaced := map[string]bool{} // "path version" replaced in go.work
	if work, err := os.ReadFile(filepath.Join(root, "go.work")); err == nil {
		for _, d := range goModDirectives(string(work), "replace") {
			if f := strings.Fields(d); len(f) >= 4 && f[2] == "=>" {
				workReplaced[f[0]+" "+f[1]] = true
			}
		}
	} else {
		t.Fatalf("go.work: %v", err)
	}
	checked := 0
	for _, name := range files {
		if name != "go.mod" && !strings.HasSuffix(name, "/go.mod") {
			continue
		}
		text, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, verb := range []string{"replace", "exclude"} {
			for _, d := range goModDirectives(string(text), verb) {
				t.Errorf("%s: %s %s: go install pkg@version refuses a module with it; go.work serves local work", name, verb, d)
			}
		}
		for _, d := range goModDirectives(string(text), "require") {
			f := strings.Fields(d)
			if len(f) < 2 || f[0] != lib && !strings.HasPrefix(f[0], lib+"/") {
				continue
			}
			if !workReplaced[f[0]+" "+f[1]] {
				t.Errorf("%s requires %s %s, which go.work does not replace with the checkout "+
					"(go work edit -replace=%s@%s=<its directory>)", name, f[0], f[1], f[0], f[1])
			}
		}
	}
	if checked < 2 {
		t.Fatalf("found %d go.mod files; want the library's and the nested modules'", checked)
	}
}

// goModDirectives returns the arguments of every verb directive in a go.mod
// or go.work text, whether written on one line or in a parenthesized block,
// without comments.
func goModDirectives(text, verb string) []string {
	var out []string
	inBlock := false
	for _, line := range strings.Split(text, "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		switch {
		case inBlock && line == ")":
			inBlock = false
		case inBlock && line != "":
			out = append(out, line)
		case line == verb+" (":
			inBlock = true
		case strings.HasPrefix(line, verb+" ") || strings.HasPrefix(line, verb+"\t"):
			out = append(out, strings.TrimSpace(line[len(verb):]))
		}
	}
	return out
}
