package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
)

// maxLineBytes bounds a line of input. CentralAuth's tokens are JWEs of a
// few KiB; a longer line is reported by its number and skipped.
const maxLineBytes = 16 << 10

// line is one line of input that holds a token, or a reason to skip it.
type line struct {
	file  string // the file's name as given, or "-" for stdin
	no    int    // from 1
	token string // "" when skipped
	skip  string // why the line was skipped: never any of its content
}

// tokenLines reads r line by line, in constant memory whatever its size,
// and yields every line that holds a token, or that had to be skipped.
// Blank lines and "#" comments yield nothing. CRLF endings and a UTF-8
// byte order mark are handled. An error reading r ends the sequence with
// a line whose skip says so.
func tokenLines(name string, r io.Reader) iter.Seq[line] {
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
				yield(line{file: name, no: no, skip: fmt.Sprintf("read error: %v", err)})
				return
			}
			if no == 1 {
				buf = bytes.TrimPrefix(buf, []byte("\ufeff"))
			}
			l := line{file: name, no: no}
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
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || bytes.IndexByte([]byte("-_.+/=~"), c) >= 0) {
			return false
		}
	}
	return true
}
