package pgdriver_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/driver/pgdriver"
	"github.com/pocketbase-jobs/jobs/internal/pgtest"
)

// pendingJob returns the parameters of a job with the given id and payload.
func pendingJob(id, payload string) driver.InsertParams {
	now := time.Now()
	return driver.InsertParams{ID: id, Topic: "t", Payload: []byte(payload), RunAt: now, MaxRetries: 3, Now: now}
}

// TestInsertRefusalsAreErrRejected checks that Insert reports values
// PostgreSQL refuses as driver.ErrRejected, in a plain insert and in one
// that skips stored ids, and an unreachable server as something else.
func TestInsertRefusalsAreErrRejected(t *testing.T) {
	d := openMigrated(t, pgtest.DSN(t))
	refused := map[string]string{
		"text that is not UTF-8":                     "\"\xff\"",
		"a payload that is not JSON":                 "{",
		"JSON nested deeper than the server's stack": strings.Repeat("[", 100000) + strings.Repeat("]", 100000),
	}
	for name, payload := range refused {
		_, err := d.Insert(t.Context(), []driver.InsertParams{pendingJob("refusedxxxxxxx1", payload)})
		if !errors.Is(err, driver.ErrRejected) {
			t.Errorf("%s: %v, want ErrRejected", name, err)
		}
	}

	stored := pendingJob("storedxxxxxxxx1", `{}`)
	if _, err := d.Insert(t.Context(), []driver.InsertParams{stored}); err != nil {
		t.Fatal(err)
	}
	_, err := d.Insert(t.Context(), []driver.InsertParams{stored, pendingJob("refusedxxxxxxx2", "{")})
	if !errors.Is(err, driver.ErrRejected) {
		t.Errorf("a refused job behind a stored one: %v, want ErrRejected", err)
	}

	pool, err := pgxpool.New(t.Context(), "host="+t.TempDir()+" dbname=none connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	_, err = pgdriver.New(pool).Insert(t.Context(), []driver.InsertParams{pendingJob("unreachablexxx1", `{}`)})
	if err == nil || errors.Is(err, driver.ErrRejected) {
		t.Errorf("an unreachable server: %v, want an error other than ErrRejected", err)
	}
}
