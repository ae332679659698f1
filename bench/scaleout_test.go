package main

import (
	"errors"
	"testing"
	"time"
)

// TestAnalyseScaleOutFailsOnDuplicates checks that a job run by two
// processes fails the measurement, and that a clean run is measured.
func TestAnalyseScaleOutFailsOnDuplicates(t *testing.T) {
	sent := map[string]int64{"p": 1_000}
	clean := [][]runRecord{
		{{id: "a", start: 0, end: 10}, {id: "p", start: 3_000, end: 3_001}},
		{{id: "b", start: 5, end: int64(time.Second)}},
	}
	o, err := analyseScaleOut(2, 2, clean, sent)
	if err != nil {
		t.Fatalf("clean run: %v", err)
	}
	if o.jobsPerSec != 2 || o.p50 != 2*time.Microsecond || o.minShare != 1 || o.maxShare != 1 {
		t.Errorf("clean run: got %+v", o)
	}

	twice := [][]runRecord{
		{{id: "a", start: 0, end: 10}, {id: "p", start: 3_000, end: 3_001}},
		{{id: "b", start: 5, end: 20}, {id: "a", start: 30, end: 40}},
	}
	if _, err := analyseScaleOut(2, 2, twice, sent); !errors.Is(err, errDuplicates) {
		t.Errorf("job a ran twice: got %v, want %v", err, errDuplicates)
	}

	lost := [][]runRecord{{{id: "a", start: 0, end: 10}, {id: "p", start: 3_000, end: 3_001}}}
	if _, err := analyseScaleOut(1, 2, lost, sent); err == nil {
		t.Error("job b never ran: got no error")
	}
}
