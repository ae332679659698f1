package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// skewedStore returns the store of a new app on backend b whose machine
// clock is off by skew, its job database opened (and its clock corrected)
// after the skew, as on a machine whose clock drifted.
func skewedStore(t *testing.T, b backend, cfg Config, skew time.Duration) *JobStore {
	t.Helper()
	app := newApp(t, b, cfg)
	store := GetJobStore(app)
	store.p.clock.Skew(skew)
	if err := store.p.open(app); err != nil { // opens the job database again
		t.Fatalf("reopen the job database: %v", err)
	}
	return store
}

// TestProcessesFollowThePostgresServerClock runs two instances on one
// PostgreSQL, one whose machine clock runs 5 minutes ahead and one 5
// minutes behind. Both tell the server's time; a delayed job does not run
// early on the one ahead; the one ahead takes over no live lock; the one
// behind still recovers an expired lock.
func TestProcessesFollowThePostgresServerClock(t *testing.T) {
	t.Parallel()
	pg := backendNamed(t, "postgres")
	cfg := testConfig()
	pg.configure(t, &cfg)
	shared := backend{name: pg.name, configure: func(testing.TB, *Config) {}}
	ahead := skewedStore(t, shared, cfg, 5*time.Minute)
	behind := skewedStore(t, shared, cfg, -5*time.Minute)
	for name, store := range map[string]*JobStore{"ahead": ahead, "behind": behind} {
		if off := time.Since(store.p.clock.Now()).Abs(); off > time.Second {
			t.Fatalf("the clock of the instance %s is %v off the server's (this machine's)", name, off)
		}
	}

	started := make(chan time.Time, 1)
	if err := ahead.Register("delayed", func(*Job) error { started <- time.Now(); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := ahead.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ahead.Stop() })
	runAt := time.Now().Add(1500 * time.Millisecond)
	job, err := ahead.EnqueueAt("delayed", nil, runAt)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-started:
		// The corrected clock is right to within half a round trip; the
		// uncorrected one would run the job 1.5 s early.
		if early := runAt.Sub(at); early > 100*time.Millisecond {
			t.Errorf("a job due at %v started %v early on the instance whose machine clock is 5 minutes ahead", runAt, early)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the delayed job %s did not run within 30s", job.ID)
	}

	// The dispatcher of the instance ahead recovers expired locks at every
	// poll: stopped, it leaves the expired lock below to the instance
	// behind, whose recovery is what is checked.
	if err := ahead.Stop(); err != nil {
		t.Fatal(err)
	}
	db, err := ahead.p.currentDB()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2 {
		if _, err := behind.Enqueue("locked", nil); err != nil {
			t.Fatal(err)
		}
	}
	claimBy := func(store *JobStore, lock time.Duration) []driver.JobRow {
		t.Helper()
		now := store.p.clock.Now()
		rows, err := db.drv.Claim(ctx, driver.ClaimParams{Limit: 1, Now: now,
			Topics: []driver.ClaimTopic{{Topic: "locked", Limit: 1, LockedUntil: now.Add(lock)}}})
		if err != nil {
			t.Fatalf("claim: %v", err)
		}
		return rows
	}
	recoverBy := func(store *JobStore) int {
		t.Helper()
		n, err := db.drv.RecoverExpired(ctx, driver.RecoverParams{Now: store.p.clock.Now(), LastError: "lock expired"})
		if err != nil {
			t.Fatalf("recover: %v", err)
		}
		return n
	}
	held := claimBy(behind, time.Minute)
	if len(held) != 1 {
		t.Fatalf("the instance behind claimed %d jobs, want 1", len(held))
	}
	if n := recoverBy(ahead); n != 0 {
		t.Fatalf("the instance ahead released %d live locks (a lock of one minute, taken by the instance behind)", n)
	}

	expiring := claimBy(ahead, 200*time.Millisecond)
	if len(expiring) != 1 || expiring[0].ID == held[0].ID {
		t.Fatalf("the instance ahead claimed %v, want the other pending job, not the one whose lock is live (%s)", idsOf(expiring), held[0].ID)
	}
	// Uncorrected, the clock behind would see this lock expire 5 minutes late.
	waitFor(t, 10*time.Second, "the lock to expire by the clock of the instance behind", func() bool {
		return behind.p.clock.Now().After(expiring[0].LockedUntil)
	})
	if n := recoverBy(behind); n != 1 {
		t.Fatalf("the instance whose machine clock is 5 minutes behind released %d expired locks, want 1", n)
	}
}
