package outage

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestOutageIsLoggedOnceEachWay: however many attempts fail or succeed in a
// row, an outage is logged once when it starts, with the error (and what
// else the caller adds), and once when it ends; a success before any
// failure logs nothing.
func TestOutageIsLoggedOnceEachWay(t *testing.T) {
	var out bytes.Buffer
	l := New(slog.New(slog.NewTextHandler(&out, nil)), slog.LevelError, "down", "up")
	l.Recovered()
	for range 3 {
		l.Failed(errors.New("refused"))
	}
	for range 2 {
		l.Recovered()
	}
	l.Failed(errors.New("reset"), "jobs", 3)
	want := []string{
		`level=ERROR msg=down error=refused`,
		`level=INFO msg=up`,
		`level=ERROR msg=down error=reset jobs=3`,
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("logged %d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, line := range lines {
		if !strings.HasSuffix(line, want[i]) {
			t.Errorf("line %d is %q, want it to end with %q", i+1, line, want[i])
		}
	}
}
