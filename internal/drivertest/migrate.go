package drivertest

import (
	"sync"
	"testing"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// testMigrateTwice: migrating a migrated database changes nothing.
func testMigrateTwice(t *testing.T, s *suite) {
	d := s.open(t)
	stored := insert(t, d, job("a", t0))[0]
	for range 2 {
		if err := d.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate again: %v", err)
		}
	}
	wantRow(t, "job after migrating again", get(t, d, "a"), stored)
}

// testMigrateConcurrently: several callers migrating one database at once
// all succeed, and leave one working schema.
func testMigrateConcurrently(t *testing.T, s *suite) {
	d := s.newDriver(t)
	const callers = 4
	errs := make(chan error, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() { errs <- d.Migrate(t.Context()) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Migrate: %v", err)
		}
	}
	insert(t, d, job("a", t0))
	if st, err := d.Stats(t.Context()); err != nil || st != (driver.Stats{Pending: 1}) {
		t.Fatalf("Stats after concurrent migrations = %+v, %v; want one pending job", st, err)
	}
}
