package json

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/reporttest"
)

// whole is what encoding/json gives for the report in one piece: the
// streamed writer must produce exactly these bytes.
func whole(t *testing.T, r *finding.Report) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestStreamedEqualsWhole(t *testing.T) {
	base := reporttest.Report()
	for _, n := range []int{0, 1, chunk - 1, chunk, chunk + 1, 3*chunk + 7} {
		r := *base
		r.Results = nil
		for i := 0; i < n; i++ {
			res := base.Results[i%len(base.Results)]
			r.Results = append(r.Results, res)
		}
		r.Summarize()
		var got bytes.Buffer
		if err := Write(&got, &r); err != nil {
			t.Fatal(err)
		}
		if want := whole(t, &r); !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("%d results: streamed output differs from encoding/json's (%d vs %d bytes)", n, got.Len(), len(want))
		}
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n--; f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteErrorIsReturned(t *testing.T) {
	r := *reporttest.Report()
	for i := 0; i < 4*chunk; i++ {
		r.Results = append(r.Results, r.Results[0])
	}
	if err := Write(&failWriter{n: 2}, &r); err == nil {
		t.Fatal("a failing writer gave no error")
	}
}

// TestSharedMapsEncodeLikeEachMap: compliance maps are encoded once per
// chunk and reused while results share them; results with their own map,
// an empty one or none must still come out as encoding/json writes them.
func TestSharedMapsEncodeLikeEachMap(t *testing.T) {
	base := reporttest.Report()
	own := map[string][]string{"z<&>": {"b", "a&<"}, "a": {}, "m": nil}
	r := *base
	r.Results = nil
	for i := 0; i < 2*chunk+3; i++ {
		res := base.Results[i%len(base.Results)]
		switch i % 7 {
		case 1:
			res.Compliance = own
		case 2:
			res.Compliance = nil
		case 3:
			res.Compliance = map[string][]string{}
		case 4:
			res.Compliance = map[string][]string{"only": {"x"}}
		}
		r.Results = append(r.Results, res)
	}
	r.Summarize()
	var got bytes.Buffer
	if err := Write(&got, &r); err != nil {
		t.Fatal(err)
	}
	if want := whole(t, &r); !bytes.Equal(got.Bytes(), want) {
		i := 0
		for i < min(got.Len(), len(want)) && got.Bytes()[i] == want[i] {
			i++
		}
		t.Fatalf("streamed output differs from encoding/json's at byte %d:\n got %q\nwant %q", i, got.Bytes()[max(0, i-80):min(got.Len(), i+80)], want[max(0, i-80):min(len(want), i+80)])
	}
}
