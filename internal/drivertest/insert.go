package drivertest

import (
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// testInsertAndGet: a job reads back as it was stored, payload byte for byte.
func testInsertAndGet(t *testing.T, s *suite) {
	d := s.open(t)
	payloads := map[string]string{
		"object":  `{"b":[true,null,1.5],"a":"x","nested":{"k":"v"}}`,
		"array":   `[1,"two",{"three":3}]`,
		"string":  `"text with \"quotes\", \u003ctags\u003e and \u0000"`,
		"number":  `42`,
		"null":    `null`,
		"unicode": `{"greeting":"grüß dich, 世界"}`,
	}
	for name, payload := range payloads {
		p := driver.InsertParams{
			ID: "job-" + name, Topic: "topic-" + name, Payload: []byte(payload),
			RunAt: t0.Add(time.Minute), MaxRetries: 3, Now: t0,
		}
		want := driver.JobRow{
			ID: p.ID, Topic: p.Topic, Payload: p.Payload, Status: driver.StatusPending,
			RunAt: p.RunAt, MaxRetries: 3, Created: t0, Updated: t0,
		}
		rows := insert(t, d, p)
		wantRow(t, "Insert of "+name, rows[0], want)
		wantRow(t, "Get of "+name, get(t, d, p.ID), want)
	}
}

// testInsertKeepsTimes: times keep their microseconds (finer digits are
// cut), whatever zone they were given in, and read back in UTC.
func testInsertKeepsTimes(t *testing.T, s *suite) {
	d := s.open(t)
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	cases := []struct {
		id         string
		given, got time.Time
	}{
		{"micro", time.Date(2031, 1, 2, 3, 4, 5, 654321000, zone), time.Date(2031, 1, 1, 21, 34, 5, 654321000, time.UTC)},
		{"milli", time.Date(2031, 1, 2, 3, 4, 5, 7000000, time.UTC), time.Date(2031, 1, 2, 3, 4, 5, 7000000, time.UTC)},
		{"nano", time.Date(2031, 1, 2, 3, 4, 5, 1999, time.UTC), time.Date(2031, 1, 2, 3, 4, 5, 1000, time.UTC)},
	}
	for _, c := range cases {
		p := job(c.id, c.given)
		p.Now = c.given
		row := insert(t, d, p)[0]
		wantTime(t, c.id+": inserted RunAt", row.RunAt, c.got)
		wantTime(t, c.id+": inserted Created", row.Created, c.got)
		stored := get(t, d, c.id)
		wantTime(t, c.id+": stored RunAt", stored.RunAt, c.got)
		wantTime(t, c.id+": stored Created", stored.Created, c.got)
		wantTime(t, c.id+": stored Updated", stored.Updated, c.got)
	}
	// Times order as times, not as text: a run_at one microsecond after now
	// is not runnable yet, and is at that microsecond.
	p := job("edge", t0.Add(time.Microsecond))
	insert(t, d, p)
	if rows := claim(t, d, claimOf(t0, t0.Add(lock), 1, "edge")); len(rows) != 0 {
		t.Fatalf("Claim one microsecond early took %v", idsOf(rows))
	}
	claimJob(t, d, "edge", t0.Add(time.Microsecond), t0.Add(lock))
}

// testInsertOrder: Insert stores a batch and returns its rows in the order
// of the batch.
func testInsertOrder(t *testing.T, s *suite) {
	d := s.open(t)
	ids := []string{"m", "z", "a", "q", "b"}
	batch := make([]driver.InsertParams, len(ids))
	for i, id := range ids {
		batch[i] = job(id, t0.Add(time.Duration(len(ids)-i)*time.Second))
	}
	rows := insert(t, d, batch...)
	wantIDs(t, "Insert rows", idsOf(rows), ids)
	for i, r := range rows {
		wantTime(t, r.ID+": RunAt", r.RunAt, batch[i].RunAt)
	}
	if rows, err := d.Insert(t.Context(), nil); err != nil || len(rows) != 0 {
		t.Fatalf("Insert of no jobs = %v, %v; want nothing", rows, err)
	}
	if st, err := d.Stats(t.Context()); err != nil || st.Pending != int64(len(ids)) {
		t.Fatalf("Stats = %+v, %v; want %d pending", st, err, len(ids))
	}
}

// testInsertKnownID: inserting an id that is already stored leaves the
// stored job as it is, without error, so a relay may repeat an insert.
func testInsertKnownID(t *testing.T, s *suite) {
	d := s.open(t)
	stored := insert(t, d, job("a", t0))[0]
	claimed := claimJob(t, d, "a", t0, t0.Add(lock))

	again := job("a", t0.Add(time.Hour))
	again.Payload = []byte(`{"other":true}`)
	rows := insert(t, d, again, job("b", t0))
	wantRow(t, "Insert of a known id", rows[0], claimed)
	wantIDs(t, "Insert rows", idsOf(rows), []string{"a", "b"})
	wantRow(t, "job after a repeated insert", get(t, d, "a"), claimed)
	if string(stored.Payload) == string(again.Payload) {
		t.Fatal("test payloads must differ")
	}
	get(t, d, "b")
}

// testGetUnknown: Get of an id nobody stored is ErrNotFound.
func testGetUnknown(t *testing.T, s *suite) {
	d := s.open(t)
	_, err := d.Get(t.Context(), driver.GetParams{ID: "nope"})
	wantErr(t, "Get of an unknown id", err, driver.ErrNotFound)
}
