package transport

import (
	"regexp"
	"strings"
	"testing"
)

// nameRule is the documented rule for names, as a regular expression: the
// reference validName is checked against.
var nameRule = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func TestValidName(t *testing.T) {
	for _, s := range []string{
		"", "a", "node-1", "db.primary_2", "A-Z.a-z_0-9",
		strings.Repeat("x", 64), strings.Repeat("x", 65),
		"has space", "slash/", "star*", "gt>", "tab\t", "é", "nul\x00",
	} {
		if got, want := ValidName(s), nameRule.MatchString(s); got != want {
			t.Errorf("ValidName(%q) = %v; the rule says %v", s, got, want)
		}
	}
}

func FuzzValidName(f *testing.F) {
	f.Add("node-1")
	f.Add("bad name")
	f.Add(strings.Repeat("y", 64))
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidName(s), nameRule.MatchString(s); got != want {
			t.Errorf("ValidName(%q) = %v; the rule says %v", s, got, want)
		}
	})
}
