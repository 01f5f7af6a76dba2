// Package suggest words a "did you mean": the known names closest to a
// mistyped one, and lists of names as prose.
package suggest

import (
	"strings"

	"github.com/agext/levenshtein"
)

// Closest returns the candidates at the smallest Levenshtein distance from
// name, if that distance is at most max, in the candidates' order.
func Closest(name string, candidates []string, max int) []string {
	best := max + 1
	var out []string
	for _, c := range candidates {
		switch d := levenshtein.Distance(name, c, nil); {
		case d < best:
			best, out = d, []string{c}
		case d == best:
			out = append(out, c)
		}
	}
	return out
}

// Join joins words as "a", "a or b", "a, b or c" (conj "or").
func Join(words []string, conj string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}
