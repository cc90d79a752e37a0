package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
)

// maxListed bounds the skipped lines that the summary lists; -json has
// them all.
const maxListed = 20

// summary counts the outcomes of the lines read. Its counts add up to the
// lines read, and are the same on stderr and in -json.
type summary struct {
	// dryRun: every token line is not tried, and none is the place to
	// resume from.
	dryRun bool

	lines, ended, alreadyEnded, invalid, failed, skipped, notTried, retries int

	failedBy      map[string]int // by errorCode
	listed        []result       // the first skipped lines
	firstNotTried result         // Line 0 until there is one
}

func (s *summary) add(r result) {
	s.lines++
	s.retries += max(r.Attempts-1, 0)
	switch r.Outcome {
	case outcomeEnded:
		s.ended++
	case outcomeAlreadyEnded:
		s.alreadyEnded++
	case outcomeInvalid:
		s.invalid++
	case outcomeSkipped:
		s.skipped++
		if len(s.listed) < maxListed {
			s.listed = append(s.listed, r)
		}
	case outcomeNotTried:
		s.notTried++
		if f := s.firstNotTried; !s.dryRun && (f.Line == 0 || r.in < f.in || (r.in == f.in && r.Line < f.Line)) {
			s.firstNotTried = r
		}
	default:
		s.failed++
		if s.failedBy == nil {
			s.failedBy = map[string]int{}
		}
		s.failedBy[r.ErrorCode]++
	}
}

// resume is the first line not tried: the first token line not tried or,
// when there is none and the input was not read to its end, the line after
// the last one read. ok is false when nothing is left to do.
func (s *summary) resume(st stopped) (file string, no, in int, ok bool) {
	switch {
	case s.firstNotTried.Line != 0:
		return s.firstNotTried.File, s.firstNotTried.Line, s.firstNotTried.in, true
	case !st.complete:
		return st.last.file, st.last.no + 1, st.last.in, true
	}
	return "", 0, 0, false
}

// write prints the summary on w. It names lines by file and number only.
func (s *summary) write(w io.Writer, st stopped, inputs []input) {
	if s.dryRun {
		fmt.Fprintf(w, "dry run: %d lines: %d tokens would be sent, %d skipped; nothing was sent\n",
			s.lines, s.notTried, s.skipped)
	} else {
		fmt.Fprintf(w, "%d lines: %d ended, %d already ended, %d invalid at CentralAuth, %d failed, %d skipped, %d not tried; %d retries\n",
			s.lines, s.ended, s.alreadyEnded, s.invalid, s.failed, s.skipped, s.notTried, s.retries)
		for _, code := range slices.Sorted(maps.Keys(s.failedBy)) {
			fmt.Fprintf(w, "  failed %s: %d\n", code, s.failedBy[code])
		}
		if s.invalid > 0 {
			fmt.Fprintf(w, "  invalid at CentralAuth: %d tokens it does not accept, such as another organization's: check the input\n", s.invalid)
		}
	}
	for i, r := range s.listed {
		if i == 0 {
			fmt.Fprintf(w, "%d lines skipped:\n", s.skipped)
		}
		fmt.Fprintf(w, "  %s:%d: %s\n", r.File, r.Line, r.Reason)
	}
	if s.skipped > len(s.listed) {
		fmt.Fprintf(w, "  … and %d more\n", s.skipped-len(s.listed))
	}
	if st.cause == nil {
		return
	}
	if errors.As(st.cause, new(*refusedError)) {
		// The tokens refused need sending again as much as those not
		// tried: resuming from the first line not tried would skip them.
		fmt.Fprintf(w, "stopped: %d token lines not tried; once the settings are right, run the whole input again\n", s.notTried)
		return
	}
	file, no, in, ok := s.resume(st)
	if !ok {
		fmt.Fprintln(w, "interrupted: every line was tried")
		return
	}
	fmt.Fprintf(w, "interrupted: %d token lines not tried", s.notTried)
	if !st.complete {
		fmt.Fprintf(w, ", and the input not read past %s:%d", st.last.file, st.last.no)
	}
	more := ""
	if in < len(inputs)-1 {
		more = ", then the files after it"
	}
	fmt.Fprintf(w, "; the first line not tried is %s:%d: resume with tail -n +%d %s%s\n", file, no, no, file, more)
}

// summaryObject is the summary as the last object of -json.
type summaryObject struct {
	Kind          string `json:"kind"` // "summary"
	Lines         int    `json:"lines"`
	Ended         int    `json:"ended"`
	AlreadyEnded  int    `json:"alreadyEnded"`
	Invalid       int    `json:"invalid"`
	Failed        int    `json:"failed"`
	Skipped       int    `json:"skipped"`
	NotTried      int    `json:"notTried"`
	Retries       int    `json:"retries"`
	DryRun        bool   `json:"dryRun,omitempty"`
	Interrupted   bool   `json:"interrupted"`
	FirstNotTried *place `json:"firstNotTried,omitempty"`
}

type place struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

func (s *summary) object(st stopped) summaryObject {
	o := summaryObject{
		Kind: "summary", Lines: s.lines, Ended: s.ended, AlreadyEnded: s.alreadyEnded, Invalid: s.invalid,
		Failed: s.failed, Skipped: s.skipped, NotTried: s.notTried, Retries: s.retries, DryRun: s.dryRun,
		Interrupted: st.cause != nil && !errors.As(st.cause, new(*refusedError)),
	}
	if file, no, _, ok := s.resume(st); ok && st.cause != nil {
		o.FirstNotTried = &place{file, no}
	}
	return o
}

// jsonLines writes -json: one object per line read, except those not
// tried, then the summary.
type jsonLines struct{ enc *json.Encoder }

func (j jsonLines) write(v any) {
	if j.enc != nil {
		_ = j.enc.Encode(v)
	}
}
