package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// benchCorpus is the project's own Go source, repeated to 8 MiB: real code,
// with a planted key every 512 KiB.
func benchCorpus(b *testing.B) []byte {
	b.Helper()
	var src bytes.Buffer
	files, _ := filepath.Glob("../../*.go")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		src.Write(data)
	}
	key := issueKey(&testing.T{}, keyConfig{"ak", 160})
	var out bytes.Buffer
	for out.Len() < 8<<20 {
		out.Write(src.Bytes()[:min(src.Len(), 512<<10)])
		out.WriteString("\nAPI_KEY=" + key + "\n")
	}
	return out.Bytes()
}

// BenchmarkScan measures the scanner on real code against two baselines in
// the same run: counting lines (what any scanner that reports lines must
// do at least) and the gitleaks rule's regular expression (RE2, without the
// checksum).
func BenchmarkScan(b *testing.B) {
	corpus := benchCorpus(b)
	b.Run("keyStream", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(corpus)))
		s := newKeyStream()
		n := 0
		for b.Loop() {
			s.reset(1, func(match) { n++ })
			s.Write(corpus)
			s.end()
		}
		if n == 0 {
			b.Fatal("no key found")
		}
	})
	b.Run("baseline=count-lines", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(corpus)))
		for b.Loop() {
			bytes.Count(corpus, []byte{'\n'})
		}
	})
	b.Run("baseline=gitleaks-regexp", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(corpus)))
		re := regexp.MustCompile(gitleaksRegex("ak", 49))
		for b.Loop() {
			if re.FindAllIndex(corpus, -1) == nil {
				b.Fatal("no match")
			}
		}
	})
}
