package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
)

// maxLineBytes bounds a line of input. CentralAuth's tokens are JWEs of a
// few KiB; a longer line is reported by its number and skipped.
const maxLineBytes = 16 << 10

// line is one line of input that holds a token, or a reason to skip it.
type line struct {
	file  string // the file's name as given, or "-" for stdin
	in    int    // the file's place among the inputs, from 0
	no    int    // from 1; 0 in the mark that starts an input (see read)
	token string // "" when skipped
	skip  string // why the line was skipped: never any of its content
}

// tokenLines reads r line by line, in constant memory whatever its size,
// and yields every line that holds a token, or that had to be skipped.
// Blank lines and "#" comments yield nothing. CRLF endings and a UTF-8
// byte order mark are handled. An error reading r ends the sequence with
// a line whose skip says so.
func tokenLines(name string, in int, r io.Reader) iter.Seq[line] {
	return func(yield func(line) bool) {
		br := bufio.NewReaderSize(r, 64<<10)
		var buf []byte
		for no := 1; ; no++ {
			buf = buf[:0]
			tooLong := false
			var err error
			for {
				var part []byte
				var more bool
				part, more, err = br.ReadLine()
				if len(buf)+len(part) > maxLineBytes {
					tooLong = true
				} else {
					buf = append(buf, part...)
				}
				if !more || err != nil {
					break
				}
			}
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(line{file: name, in: in, no: no, skip: fmt.Sprintf("read error: %v", err)})
				return
			}
			if no == 1 {
				buf = bytes.TrimPrefix(buf, []byte("\ufeff"))
			}
			l := line{file: name, in: in, no: no}
			text := bytes.TrimSpace(buf)
			switch {
			case tooLong:
				l.skip = fmt.Sprintf("longer than %d bytes", maxLineBytes)
			case len(text) == 0 || text[0] == '#':
				continue
			case !tokenShaped(text):
				l.skip = "not a token: a token is one word of base64url characters and dots"
			default:
				l.token = string(text)
			}
			if !yield(l) {
				return
			}
		}
	}
}

// tokenShaped accepts the characters of a compact JWE or JWT, and of the
// base64 alphabets in general: anything else (a space, a quote) means the
// line is not one token.
func tokenShaped(b []byte) bool {
	for _, c := range b {
		if !tokenBytes[c] {
			return false
		}
	}
	return true
}

// tokenBytes is the byte-class table of tokenShaped: one lookup per byte of
// every line, which a search of the punctuation per byte made a visible
// part of the command's CPU.
var tokenBytes = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.+/=~", byte(c)) >= 0
	}
	return t
}()

// input is one file to read, or stdin.
type input struct {
	name string
	r    io.Reader
	// regular is a regular file: reading it cannot block, so that the
	// rest of it can still be counted after an interrupt.
	regular bool
}

// openInputs opens every file before anything is sent, so that a typo, a
// directory or a file that cannot be read is a usage error rather than a
// half-done run.
func openInputs(names []string, stdin io.Reader) ([]input, func(), error) {
	if len(names) == 0 {
		names = []string{"-"}
	}
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			_ = f.Close()
		}
	}
	var inputs []input
	for _, name := range names {
		if name == "-" {
			in := input{name: "-", r: stdin}
			if f, ok := stdin.(*os.File); ok {
				st, err := f.Stat()
				in.regular = err == nil && st.Mode().IsRegular()
			}
			inputs = append(inputs, in)
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			closeAll()
			return nil, nil, usagef("%v", err) // names the file, which holds no token
		}
		files = append(files, f)
		st, err := f.Stat()
		switch {
		case err != nil:
			closeAll()
			return nil, nil, usagef("%v", err)
		case st.IsDir():
			closeAll()
			return nil, nil, usagef("%s is a directory; want a file of tokens", name)
		}
		inputs = append(inputs, input{name: name, r: f, regular: st.Mode().IsRegular()})
	}
	return inputs, closeAll, nil
}

// read reads the inputs in turn, each through one reader, in a goroutine
// of its own, so that a signal is seen while a read blocks. It sends every
// line that tokenLines yields, each input's lines after a mark (a line
// numbered 0) that names the input, and closes the channel at the end of
// the last input. It stops early when quit closes.
//
// The lines of a regular file go in batches: a channel send per line
// would wake the reader once per token, a cost the throughput benchmark
// sees. A pipe or a terminal may block before the next line, so that
// each of its lines goes at once.
func read(inputs []input, quit <-chan struct{}) <-chan []line {
	ch := make(chan []line, 4)
	go func() {
		defer close(ch)
		var batch []line
		send := func() bool {
			select {
			case ch <- batch:
				batch = nil
				return true
			case <-quit:
				return false
			}
		}
		for i, in := range inputs {
			size := 256
			if !in.regular {
				size = 1
			}
			batch = append(batch, line{file: in.name, in: i})
			if !in.regular && !send() { // what was read before goes now: this read may block
				return
			}
			for l := range tokenLines(in.name, i, in.r) {
				if batch == nil {
					batch = make([]line, 0, size)
				}
				batch = append(batch, l)
				if len(batch) >= size && !send() {
					return
				}
			}
		}
		if len(batch) > 0 {
			send()
		}
	}()
	return ch
}
