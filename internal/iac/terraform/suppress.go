package terraform

import (
	"fmt"
	"strings"

	"github.com/sagefence/sagefence/internal/iac/model"
)

// suppressions returns the "sagefence:ignore" comments on a block's first
// line or in the comment lines directly above it.
func (m *module) suppressions(file string, line int) []model.Suppression {
	src, ok := m.sources[file]
	if !ok || strings.HasSuffix(file, ".json") {
		return nil
	}
	starts, ok := m.lineStart[file]
	if !ok {
		starts = []int{0}
		for i, c := range src {
			if c == '\n' {
				starts = append(starts, i+1)
			}
		}
		m.lineStart[file] = starts
	}
	lineText := func(n int) string {
		if n < 1 || n > len(starts) {
			return ""
		}
		end := len(src)
		if n < len(starts) {
			end = starts[n]
		}
		return strings.TrimSpace(string(src[starts[n-1]:end]))
	}
	var out []model.Suppression
	if s, ok := ParseIgnore(lineText(line)); ok {
		s.Source = fmt.Sprintf("%s:%d", file, line)
		out = append(out, s)
	}
	for n := line - 1; n >= 1; n-- {
		t := lineText(n)
		if !isComment(t) {
			break
		}
		if s, ok := ParseIgnore(t); ok {
			s.Source = fmt.Sprintf("%s:%d", file, n)
			out = append(out, s)
		}
	}
	return out
}

func isComment(t string) bool {
	return strings.HasPrefix(t, "#") || strings.HasPrefix(t, "//") || strings.HasPrefix(t, "/*") || strings.HasPrefix(t, "*")
}

// ParseIgnore reads `sagefence:ignore ID reason="..."` from a line of text.
// The reason may contain \" escapes; a missing or empty reason yields a
// Suppression with an empty Reason, which is not honoured.
func ParseIgnore(text string) (model.Suppression, bool) {
	const marker = "sagefence:ignore"
	i := strings.Index(text, marker)
	if i < 0 {
		return model.Suppression{}, false
	}
	rest := strings.TrimLeft(text[i+len(marker):], " \t")
	id := rest
	if j := strings.IndexAny(rest, " \t"); j >= 0 {
		id, rest = rest[:j], rest[j:]
	} else {
		rest = ""
	}
	id = strings.TrimSuffix(strings.TrimSuffix(id, "*/"), ",")
	s := model.Suppression{ID: id}
	k := strings.Index(rest, "reason")
	if k < 0 {
		return s, true
	}
	r := strings.TrimLeft(rest[k+len("reason"):], " \t")
	if !strings.HasPrefix(r, "=") {
		return s, true
	}
	r = strings.TrimLeft(r[1:], " \t")
	if !strings.HasPrefix(r, `"`) {
		return s, true
	}
	var b strings.Builder
	for j := 1; j < len(r); j++ {
		switch c := r[j]; {
		case c == '\\' && j+1 < len(r):
			j++
			b.WriteByte(r[j])
		case c == '"':
			s.Reason = strings.TrimSpace(b.String())
			return s, true
		default:
			b.WriteByte(c)
		}
	}
	return s, true // unterminated: no reason
}
