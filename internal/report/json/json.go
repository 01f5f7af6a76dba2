// Package json writes a report as the stable JSON contract of CONTROL.md.
//
// The report is streamed: the envelope is encoded once with an empty result
// list, and the results are encoded in chunks on every core and written in
// order between its brackets. A report of 100,000 notebooks is hundreds of
// megabytes; it is never held in memory whole. The bytes are exactly what
// json.Encoder with two-space indentation gives for the whole report.
package json

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/sagefence/sagefence/internal/finding"
)

// chunk is how many results one encoding job holds.
const chunk = 512

// Write encodes the report as indented JSON.
func Write(w io.Writer, r *finding.Report) error {
	shell := *r
	shell.Results = []finding.Result{}
	head, err := json.MarshalIndent(&shell, "", "  ")
	if err != nil {
		return fmt.Errorf("encode JSON report: %w", err)
	}
	// The top-level "results" member is the only one indented by exactly
	// two spaces at the start of a line with that name: nested objects are
	// indented deeper and string values cannot hold a raw newline.
	marker := []byte("\n  \"results\": []")
	at := bytes.Index(head, marker)
	if at < 0 {
		return errors.New("encode JSON report: results member not found")
	}
	split := at + len(marker) - 1 // just before the closing bracket
	if _, err := w.Write(head[:split]); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	if len(r.Results) > 0 {
		if err := writeResults(w, r.Results); err != nil {
			return err
		}
		if _, err := io.WriteString(w, "\n  "); err != nil {
			return fmt.Errorf("write JSON report: %w", err)
		}
	}
	if _, err := w.Write(head[split:]); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

type job struct {
	from int
	out  chan *bytes.Buffer
	err  error
}

// writeResults encodes results in chunks on every core, at most two chunks
// per core in flight, and writes them in order.
func writeResults(w io.Writer, results []finding.Result) error {
	workers := runtime.GOMAXPROCS(0)
	// Every chunk goes to a worker and, in order, to the writer, which
	// waits for each in turn; the queues bound what is in flight.
	pending := make(chan *job, 2*workers)
	work := make(chan *job, 2*workers)
	go func() {
		defer close(pending)
		defer close(work)
		for from := 0; from < len(results); from += chunk {
			j := &job{from: from, out: make(chan *bytes.Buffer, 1)}
			pending <- j
			work <- j
		}
	}()
	// Buffers go back to the workers once written: a large report is then
	// encoded in a few megabytes that are reused, not hundreds discarded.
	free := make(chan *bytes.Buffer, 4*workers)
	for range workers {
		go func() {
			for j := range work {
				var buf *bytes.Buffer
				select {
				case buf = <-free:
					buf.Reset()
				default:
					buf = new(bytes.Buffer)
				}
				j.err = encodeChunk(buf, results[j.from:min(j.from+chunk, len(results))], j.from == 0)
				j.out <- buf
			}
		}()
	}
	var werr error
	for j := range pending {
		buf := <-j.out
		switch {
		case werr != nil:
			// drain so that the workers finish
		case j.err != nil:
			werr = fmt.Errorf("encode JSON report: %w", j.err)
		default:
			if _, err := w.Write(buf.Bytes()); err != nil {
				werr = fmt.Errorf("write JSON report: %w", err)
			}
		}
		select {
		case free <- buf:
		default:
		}
	}
	return werr
}

// resultOptions encode a chunk of results with encoding/json's semantics
// (omitempty, HTML escaping, sorted map keys) as the report's "results"
// array, with the faster encoder of the JSON v2 reference implementation;
// the test holds the output to encoding/json's byte for byte.
var resultOptions = jsonv2.JoinOptions(ResultCompact, jsontext.WithIndentPrefix("  "), jsontext.WithIndent("  "))

// SharedMaps encodes the compliance maps of a chunk's results: the results
// of one evaluation share one map, so it is encoded once per chunk and its
// bytes are then reformatted into place, which costs a fraction of
// encoding a map through reflection and sorting its keys every time. A
// different map (a report merged from several, say) is encoded afresh.
// Use one per goroutine (it remembers the last map).
func SharedMaps() jsonv2.Options {
	var last reflect.Value
	var raw jsontext.Value
	return jsonv2.WithMarshalers(jsonv2.MarshalToFunc(func(enc *jsontext.Encoder, m map[string][]string) error {
		if m == nil {
			return jsonv2.SkipFunc
		}
		v := reflect.ValueOf(m)
		if raw == nil || v.UnsafePointer() != last.UnsafePointer() {
			b, err := jsonv2.Marshal(m, ResultCompact)
			if err != nil {
				return err
			}
			last, raw = v, b
		}
		return enc.WriteValue(raw)
	}))
}

// ResultCompact encodes (and decodes) a result, or a compliance map on its
// own, compact with the report's semantics: resultOptions without the
// indentation (which the encoder adds in the report). The watch history
// stores results with it.
var ResultCompact = jsonv2.JoinOptions(jsonv1.DefaultOptionsV1(), jsonv2.Deterministic(true))

// encodeChunk encodes results into buf as they stand inside the report's
// array: "\n    {...},\n    {...}", with a leading comma unless first.
func encodeChunk(buf *bytes.Buffer, results []finding.Result, first bool) error {
	if !first {
		buf.WriteByte(',')
	}
	start := buf.Len()
	if err := jsonv2.MarshalWrite(buf, results, resultOptions, SharedMaps()); err != nil {
		return err
	}
	// Drop the array's own brackets, "[" ... "\n  ]", and the final newline.
	b := buf.Bytes()
	end := len(b)
	end -= len(b[:end]) - len(bytes.TrimSuffix(b[:end], []byte("\n")))
	end -= len(b[:end]) - len(bytes.TrimSuffix(b[:end], []byte("\n  ]")))
	copy(b[start:], b[start+1:end])
	buf.Truncate(end - 1)
	return nil
}
