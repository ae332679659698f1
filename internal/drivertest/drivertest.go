// Package drivertest is the conformance suite of driver.Driver: one set of
// behaviour tests that every database's driver must pass, so the job store
// behaves the same whichever database holds the jobs.
//
// Example usage, in a driver's tests:
//
//	func TestConformance(t *testing.T) {
//		drivertest.Exercise(t, func(t *testing.T) driver.Driver {
//			return openOnFreshDatabase(t)
//		})
//	}
package drivertest

import (
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// Exercise runs the suite against drivers made by newDriver. Every call of
// newDriver must return a driver over a fresh, empty database that nothing
// else uses, not yet migrated, and release it when t ends. The subtests run
// in parallel.
func Exercise(t *testing.T, newDriver func(t *testing.T) driver.Driver) {
	s := &suite{newDriver: newDriver}
	tests := []struct {
		name string
		run  func(t *testing.T, s *suite)
	}{
		{"MigrateTwiceIsANoOp", testMigrateTwice},
		{"MigrateConcurrently", testMigrateConcurrently},
		{"InsertAndGet", testInsertAndGet},
		{"InsertKeepsTimes", testInsertKeepsTimes},
		{"TimesAroundTheEpoch", testTimesAroundTheEpoch},
		{"InsertReturnsRowsInOrder", testInsertOrder},
		{"InsertOfKnownIDIsANoOp", testInsertKnownID},
		{"GetUnknown", testGetUnknown},
		{"UniqueKeyOfJobsInFlight", testUniqueKeyOfJobsInFlight},
		{"UniqueKeyFreedWhenDone", testUniqueKeyFreedWhenDone},
		{"UniqueKeyTwiceInOneBatch", testUniqueKeyTwiceInOneBatch},
		{"UniqueKeyPerTopic", testUniqueKeyPerTopic},
		{"UniqueKeyConcurrently", testUniqueKeyConcurrently},
		{"RequeueOfAHeldKey", testRequeueOfAHeldKey},
		{"ClaimTakesRunnableJobsOfTopics", testClaimTopicsAndRunAt},
		{"ClaimTakesEarliestFirstUpToLimit", testClaimOrderAndLimit},
		{"ClaimPassesForeignBacklog", testClaimPassesForeignBacklog},
		{"ClaimAcrossManyTopics", testClaimAcrossManyTopics},
		{"ClaimOfNothing", testClaimNothing},
		{"LateClaimBindsOnce", testLateClaim},
		{"ConcurrentClaimsNeverShareAJob", testConcurrentClaims},
		{"ConcurrentLateClaimsNeverShareAJob", testConcurrentLateClaims},
		{"ClaimHonoursTopicLimits", testClaimTopicLimits},
		{"ClaimLocksEachTopicForItsTime", testClaimTopicLocks},
		{"ClaimByPriority", testClaimByPriority},
		{"ClaimDelayedJobs", testClaimDelayedJobs},
		{"PauseHidesATopicUntilResumed", testPause},
		{"FinishWritesABatch", testFinishBatch},
		{"FinishIsFencedByLockVersion", testFinishFenced},
		{"FinishKeepsRunAtAndLastError", testFinishKeeps},
		{"ClaimWritesOutcomesFirst", testClaimWritesOutcomesFirst},
		{"ReleaseGivesTheAttemptBack", testRelease},
		{"RecoverExpired", testRecoverExpired},
		{"CancelPending", testCancelPending},
		{"CancelProcessing", testCancelProcessing},
		{"CancelRefused", testCancelRefused},
		{"LostClaims", testLost},
		{"List", testList},
		{"ListPages", testListPages},
		{"ListIsOneSnapshot", testListIsOneSnapshot},
		{"Stats", testStats},
		{"Topics", testTopics},
		{"Delete", testDelete},
		{"JobsByID", testJobs},
		{"Requeue", testRequeue},
		{"NextRunAt", testNextRunAt},
		{"DeleteCompleted", testDeleteCompleted},
		{"TickOncePerTick", testTickOncePerTick},
		{"TickOfAHeldKey", testTickOfAHeldKey},
		{"TickConcurrently", testTickConcurrently},
		{"WaitingTopics", testWaitingTopics},
		{"WaitingTopicsOfAnyPriority", testWaitingTopicsOfAnyPriority},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, s)
		})
	}
}

// suite makes the drivers of one Exercise call.
type suite struct {
	newDriver func(t *testing.T) driver.Driver
}

// open returns a migrated driver over a fresh database.
func (s *suite) open(t *testing.T) driver.Driver {
	t.Helper()
	d := s.newDriver(t)
	if err := d.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return d
}

// t0 is the suite's "now": a time with microsecond digits, far from the
// wall clock so that no driver can pass by reading it.
var t0 = time.Date(2031, 5, 6, 7, 8, 9, 123456000, time.UTC)

// lock is how long the suite's claims hold their jobs.
const lock = 5 * time.Minute

// far is a time when every job the suite inserts is runnable.
var far = t0.Add(24 * time.Hour)
