package pgdriver_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/pgtest"
)

// TestListenTellsPublishedChanges: changes published through one driver
// reach OnChanges of a listener on another connection as they were sent;
// changes too large for one notification arrive as their count.
func TestListenTellsPublishedChanges(t *testing.T) {
	dsn := pgtest.DSN(t)
	listener := openMigrated(t, dsn)
	other := open(t, dsn)
	changes := make(chan driver.Changes, 100)
	listen(t, listener, driver.ListenParams{OnChanges: func(c driver.Changes) { changes <- c }})

	receive := func(what string) driver.Changes {
		t.Helper()
		select {
		case c := <-changes:
			return c
		case <-time.After(10 * time.Second):
			t.Fatalf("no OnChanges %s", what)
			return driver.Changes{}
		}
	}
	small := driver.Changes{
		Origin:  "p1",
		Created: []string{"a", "b"},
		Updated: []string{"c"},
		Deleted: []driver.DeletedJob{{ID: "d", Topic: "mail \"digest\"", Status: driver.StatusFailed}},
		Untold:  2,
	}
	// The listener may not listen yet: publish until the first arrives.
	deadline := time.Now().Add(10 * time.Second)
	var got driver.Changes
	for {
		if err := other.PublishChanges(t.Context(), small); err != nil {
			t.Fatalf("PublishChanges: %v", err)
		}
		select {
		case got = <-changes:
		case <-time.After(100 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("no OnChanges after publishing")
			}
			continue
		}
		break
	}
	if !reflect.DeepEqual(got, small) {
		t.Fatalf("OnChanges(%+v), want %+v", got, small)
	}

	var large driver.Changes
	large.Origin = "p2"
	for i := range 1000 {
		large.Updated = append(large.Updated, fmt.Sprintf("job%011d", i))
	}
	if err := other.PublishChanges(t.Context(), large); err != nil {
		t.Fatalf("PublishChanges of 1000 jobs: %v", err)
	}
	for {
		got = receive("after publishing 1000 jobs")
		if got.Origin == "p2" {
			break
		}
	}
	if want := (driver.Changes{Origin: "p2", Untold: 1000}); !reflect.DeepEqual(got, want) {
		t.Fatalf("OnChanges(%+v) for 1000 jobs, want %+v", got, want)
	}

}
