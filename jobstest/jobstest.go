// Package jobstest helps the tests of an app that uses the jobs plugin:
// RunAll runs every runnable job now, in the test's goroutine, with the
// handlers the app registered; RequireEnqueued and RequireNotEnqueued
// assert that a job of a topic, with a payload that has given members, was
// (or was not) enqueued; Enqueued returns a topic's jobs.
//
// A test builds its app as usual (tests.NewTestApp, jobs.Register with
// AutoStart off or an app that does not serve), registers its handlers,
// and works its jobs with RunAll instead of starting the dispatcher:
//
//	store := jobs.GetJobStore(app)
//	// ... the code under test enqueues a "mail_digest" job ...
//	jobstest.RequireEnqueued(t, store, "mail_digest", map[string]any{"user_id": "42"}, nil)
//	res := jobstest.RunAll(t, store)
//	if res.Completed != 1 {
//		t.Fatalf("ran %s", res)
//	}
package jobstest
