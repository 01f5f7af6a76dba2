package suggest

import (
	"slices"
	"testing"
)

func TestClosest(t *testing.T) {
	regions := []string{"us-east-1", "us-east-2", "us-west-1", "eu-west-1"}
	cases := []struct {
		name string
		max  int
		want []string
	}{
		{"us-east-3", 2, []string{"us-east-1", "us-east-2"}},
		{"us-eats-1", 2, []string{"us-east-1"}},
		{"ap-south-1", 2, nil},
		{"eu-west-1", 0, []string{"eu-west-1"}},
	}
	for _, tc := range cases {
		if got := Closest(tc.name, regions, tc.max); !slices.Equal(got, tc.want) {
			t.Errorf("Closest(%q, %d) = %q, want %q", tc.name, tc.max, got, tc.want)
		}
	}
}

func TestJoin(t *testing.T) {
	for words, want := range map[string]string{"": "", "a": "a", "a b": "a or b", "a b c": "a, b or c"} {
		var ws []string
		for _, r := range words {
			if r != ' ' {
				ws = append(ws, string(r))
			}
		}
		if got := Join(ws, "or"); got != want {
			t.Errorf("Join(%q) = %q, want %q", ws, got, want)
		}
	}
}
