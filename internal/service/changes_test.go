package service

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// TestChangeSetCoalescesPerJob: each job is told once, by its latest kind:
// created stays created through updates, deleted wins over both.
func TestChangeSetCoalescesPerJob(t *testing.T) {
	ready := make(chan struct{}, 1)
	s := NewChangeSet(10, ready)
	gone := driver.DeletedJob{ID: "b", Topic: "t", Status: driver.StatusPending}
	s.Add(driver.Changes{Created: []string{"a", "b"}})
	s.Add(driver.Changes{Updated: []string{"a", "b", "c"}})
	s.Add(driver.Changes{Deleted: []driver.DeletedJob{gone}, Updated: []string{"b"}, Untold: 2})
	select {
	case <-ready:
	default:
		t.Fatal("Add did not signal ready")
	}
	want := driver.Changes{Created: []string{"a"}, Updated: []string{"c"}, Deleted: []driver.DeletedJob{gone}, Untold: 2}
	if got := s.Take(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Take() = %+v, want %+v", got, want)
	}
	if got := s.Take(); !Empty(got) {
		t.Fatalf("Take() after Take() = %+v, want nothing", got)
	}
}

// TestChangeSetIsBounded: past its limit, a set counts new jobs instead of
// keeping them, while changes of the jobs it keeps still merge.
func TestChangeSetIsBounded(t *testing.T) {
	s := NewChangeSet(3, make(chan struct{}, 1))
	var ids []string
	for i := range 1000 {
		ids = append(ids, fmt.Sprintf("j%04d", i))
	}
	s.Add(driver.Changes{Updated: ids})
	s.Add(driver.Changes{Created: []string{"j0001"}, Updated: []string{"j0000"}})
	want := driver.Changes{Created: []string{"j0001"}, Updated: []string{"j0000", "j0002"}, Untold: 997}
	if got := s.Take(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Take() = %+v, want %+v", got, want)
	}
}
