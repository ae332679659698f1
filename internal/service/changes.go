package service

import (
	"maps"
	"slices"
	"sync"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// ChangeSet gathers job changes between two flushes, coalesced: at most one
// entry per job, the latest kind (created, updated, deleted), and at most
// limit entries in all; changes past the limit are only counted, as Untold.
// So a burst of any size costs a bounded amount of memory, and a reader
// that falls behind learns how much it missed. Any goroutine may call its
// methods.
type ChangeSet struct {
	limit int
	ready chan struct{}

	mu      sync.Mutex
	created map[string]struct{}
	updated map[string]struct{}
	deleted map[string]driver.DeletedJob
	untold  int
}

// NewChangeSet returns an empty set that keeps up to limit jobs and
// signals ready, never blocking, when changes are added; sets may share
// one ready channel (of capacity 1).
func NewChangeSet(limit int, ready chan struct{}) *ChangeSet {
	s := &ChangeSet{limit: limit, ready: ready}
	s.reset()
	return s
}

// Add merges c into the set. A job created and then updated stays created;
// a job deleted stays deleted.
func (s *ChangeSet) Add(c driver.Changes) {
	s.mu.Lock()
	for _, j := range c.Deleted {
		delete(s.created, j.ID)
		delete(s.updated, j.ID)
		s.keep(j.ID, func() { s.deleted[j.ID] = j })
	}
	for _, id := range c.Created {
		if _, gone := s.deleted[id]; gone {
			continue
		}
		delete(s.updated, id)
		s.keep(id, func() { s.created[id] = struct{}{} })
	}
	for _, id := range c.Updated {
		if s.has(id) {
			continue
		}
		s.keep(id, func() { s.updated[id] = struct{}{} })
	}
	s.untold += c.Untold
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// has tells whether the set holds an entry for the job id.
func (s *ChangeSet) has(id string) bool {
	_, created := s.created[id]
	_, updated := s.updated[id]
	_, deleted := s.deleted[id]
	return created || updated || deleted
}

// keep calls store to hold an entry for id when there is room for it (or
// the job has one already), and counts the change as untold otherwise.
func (s *ChangeSet) keep(id string, store func()) {
	if s.has(id) || len(s.created)+len(s.updated)+len(s.deleted) < s.limit {
		store()
		return
	}
	s.untold++
}

// Take returns the changes gathered and empties the set. The ids of each
// kind are sorted.
func (s *ChangeSet) Take() driver.Changes {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := driver.Changes{
		Created: slices.Sorted(maps.Keys(s.created)),
		Updated: slices.Sorted(maps.Keys(s.updated)),
		Untold:  s.untold,
	}
	for _, id := range slices.Sorted(maps.Keys(s.deleted)) {
		c.Deleted = append(c.Deleted, s.deleted[id])
	}
	s.reset()
	return c
}

// reset empties the set; s.mu is held or s is not shared yet.
func (s *ChangeSet) reset() {
	s.created = map[string]struct{}{}
	s.updated = map[string]struct{}{}
	s.deleted = map[string]driver.DeletedJob{}
	s.untold = 0
}

// Empty tells whether c holds no change.
func Empty(c driver.Changes) bool {
	return len(c.Created)+len(c.Updated)+len(c.Deleted) == 0 && c.Untold == 0
}
