package main

import (
	"testing"
	"time"
)

// TestParseStatCPU checks that the CPU time is read after the command name,
// even one that holds ") ", and that a malformed line is an error.
func TestParseStatCPU(t *testing.T) {
	line := "4242 (bench) (x) S 1 4242 4242 0 -1 4194560 900 0 0 0 150 25 0 0 20 0 9 0 100 0 0\n"
	got, err := parseStatCPU(line)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1750 * time.Millisecond; got != want {
		t.Errorf("got %s, want %s (150 + 25 ticks)", got, want)
	}
	for _, bad := range []string{"", "4242 bench S 1", "4242 (bench) S 1 2 3", "4242 (bench) S 1 2 3 4 5 6 7 8 9 10 x 0"} {
		if _, err := parseStatCPU(bad); err == nil {
			t.Errorf("%q: got no error", bad)
		}
	}
}

// TestParseHostConfigs checks that the baseline must come first and that
// an unknown letter is an error.
func TestParseHostConfigs(t *testing.T) {
	got, err := parseHostConfigs("a, c,e,g")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0].id != "a" || !got[0].disabled || !got[1].writeBack || !got[2].inTx ||
		!got[3].inTx || !got[3].writeBack {
		t.Errorf("got %+v", got)
	}
	for _, bad := range []string{"b,a", "a,x", ""} {
		if _, err := parseHostConfigs(bad); err == nil {
			t.Errorf("%q: got no error", bad)
		}
	}
}
