package sqlitedriver_test

import (
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/driver/sqlitedriver"
)

// TestOutboxUpgradesAndKeepsEveryOption: an outbox created before jobs had
// a priority and a unique key gains both columns, its rows read back with
// the defaults, and new rows keep what they were added with.
func TestOutboxUpgradesAndKeepsEveryOption(t *testing.T) {
	write, _ := openDB(t)
	// The outbox of the first release, with a row in it.
	_, err := write.NewQuery(`CREATE TABLE _jobs_outbox (
		id TEXT PRIMARY KEY NOT NULL, topic TEXT NOT NULL, payload TEXT NOT NULL,
		run_at INTEGER NOT NULL, max_retries INTEGER NOT NULL, created INTEGER NOT NULL
	);
	CREATE TABLE _jobs_outbox_rejected (
		id TEXT PRIMARY KEY NOT NULL, topic TEXT NOT NULL, payload TEXT NOT NULL,
		run_at INTEGER NOT NULL, max_retries INTEGER NOT NULL, created INTEGER NOT NULL,
		error TEXT NOT NULL, rejected INTEGER NOT NULL
	);
	INSERT INTO _jobs_outbox VALUES ('old', 't', '{}', 1, 3, 1);`).Execute()
	if err != nil {
		t.Fatal(err)
	}
	outbox := sqlitedriver.NewOutbox(write)
	for range 2 { // and again: a no-op
		if err := outbox.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	now := time.Now()
	added := driver.InsertParams{ID: "new", Topic: "t", Payload: []byte(`{}`), RunAt: now, MaxRetries: 1,
		Priority: -7, UniqueKey: "user-42", Now: now.Add(time.Second)}
	if err := outbox.Add(t.Context(), []driver.InsertParams{added}); err != nil {
		t.Fatal(err)
	}
	rows, err := outbox.Peek(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].ID != "old" || rows[1].ID != "new" {
		t.Fatalf("outbox rows %+v", rows)
	}
	if rows[0].Priority != 0 || rows[0].UniqueKey != "" {
		t.Errorf("the old row reads back as %+v, want priority 0 and no unique key", rows[0])
	}
	if rows[1].Priority != -7 || rows[1].UniqueKey != "user-42" {
		t.Errorf("the new row reads back as %+v, want priority -7 and unique key user-42", rows[1])
	}
	moved, err := outbox.Reject(t.Context(), "new", "refused", now)
	if err != nil || !moved {
		t.Fatalf("Reject: %v, %v", moved, err)
	}
	var kept struct {
		Priority  int    `db:"priority"`
		UniqueKey string `db:"unique_key"`
	}
	if err := write.NewQuery(`SELECT priority, unique_key FROM _jobs_outbox_rejected WHERE id = 'new'`).One(&kept); err != nil {
		t.Fatal(err)
	}
	if kept.Priority != -7 || kept.UniqueKey != "user-42" {
		t.Errorf("the rejected row keeps %+v", kept)
	}
}
