package faulttest

import (
	"fmt"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// jobRow is what the tests read back of a stored job.
type jobRow struct {
	ID        string `db:"id"`
	Topic     string `db:"topic"`
	Status    string `db:"status"`
	Attempts  int    `db:"attempts"`
	LastError string `db:"last_error"`
}

// jobTable reads the _jobs table of a worker directly, whatever the worker
// is doing (or after it died). It only reads.
type jobTable struct {
	db *dbx.DB
}

// openJobTable opens the job table of the worker whose pb_data is dir, on
// backend b; it is closed when t ends. The table must exist: open it once
// the worker has started.
func openJobTable(t *testing.T, b backend, dir string) *jobTable {
	t.Helper()
	db, err := b.open(dir)
	if err != nil {
		t.Fatalf("open the %s job table: %v", b.name, err)
	}
	t.Cleanup(func() { db.Close() })
	return &jobTable{db: db}
}

// all returns every job.
func (j *jobTable) all() ([]jobRow, error) {
	var rows []jobRow
	err := j.db.NewQuery(`SELECT id, topic, status, attempts, last_error FROM _jobs`).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("read the job table: %w", err)
	}
	return rows, nil
}

// allCompleted tells whether the table holds at least min jobs and every
// one is completed.
func (j *jobTable) allCompleted(min int) (bool, error) {
	rows, err := j.all()
	if err != nil {
		return false, err
	}
	for _, r := range rows {
		if r.Status != "completed" {
			return false, nil
		}
	}
	return len(rows) >= min, nil
}

// get returns the job with the given id.
func (j *jobTable) get(id string) (jobRow, error) {
	var row jobRow
	err := j.db.NewQuery(`SELECT id, topic, status, attempts, last_error FROM _jobs WHERE id = {:id}`).
		Bind(dbx.Params{"id": id}).One(&row)
	if err != nil {
		return row, fmt.Errorf("read job %s: %w", id, err)
	}
	return row, nil
}

// count returns how many jobs have the given status.
func (j *jobTable) count(status string) (int, error) {
	var n int
	err := j.db.NewQuery(`SELECT COUNT(*) FROM _jobs WHERE status = {:status}`).
		Bind(dbx.Params{"status": status}).Row(&n)
	if err != nil {
		return 0, fmt.Errorf("count %s jobs: %w", status, err)
	}
	return n, nil
}

// countTopic returns how many jobs of topic have the given status.
func (j *jobTable) countTopic(topic, status string) (int, error) {
	var n int
	err := j.db.NewQuery(`SELECT COUNT(*) FROM _jobs WHERE topic = {:topic} AND status = {:status}`).
		Bind(dbx.Params{"topic": topic, "status": status}).Row(&n)
	if err != nil {
		return 0, fmt.Errorf("count %s jobs of %q: %w", status, topic, err)
	}
	return n, nil
}

// claim identifies one claim of a job: the job and its attempt number.
type claim struct {
	id       string
	attempts int
}

// processing returns the claims of the jobs that are processing.
func (j *jobTable) processing() (map[claim]bool, error) {
	var rows []jobRow
	err := j.db.NewQuery(`SELECT id, topic, status, attempts, last_error FROM _jobs WHERE status = 'processing'`).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("read the processing jobs: %w", err)
	}
	claims := make(map[claim]bool, len(rows))
	for _, r := range rows {
		claims[claim{id: r.ID, attempts: r.Attempts}] = true
	}
	return claims, nil
}

// Queries of pick, which bind {:topic} and {:status}.
const (
	// pickFewSQL sorts the matching jobs at random: quick when they are
	// few, as processing jobs are (one per worker at most).
	pickFewSQL = `SELECT id FROM _jobs WHERE topic = {:topic} AND status = {:status} ORDER BY random() LIMIT 1`
	// pickManySQL walks the primary key from the random id {:from} on to
	// the first match, or from the start with {:from} empty: the "|| ''"
	// keeps out the indexes on status and topic, whose matches would all
	// be read and sorted.
	pickManySQL = `SELECT id FROM _jobs WHERE topic || '' = {:topic} AND status || '' = {:status} AND id >= {:from}
		ORDER BY id LIMIT 1`
)

// pick returns the id of a job of topic with status, chosen at random, and
// false when there is none.
func (j *jobTable) pick(topic, status string) (string, bool, error) {
	if status == "processing" {
		return j.pickOne(pickFewSQL, dbx.Params{"topic": topic, "status": status})
	}
	// From a random id on, then, wrapping around, from the first.
	for _, from := range []string{core.GenerateDefaultRandomId(), ""} {
		id, ok, err := j.pickOne(pickManySQL, dbx.Params{"topic": topic, "status": status, "from": from})
		if ok || err != nil {
			return id, ok, err
		}
	}
	return "", false, nil
}

// pickOne runs a query of pick.
func (j *jobTable) pickOne(query string, params dbx.Params) (string, bool, error) {
	var ids []string
	if err := j.db.NewQuery(query).Bind(params).Column(&ids); err != nil {
		return "", false, fmt.Errorf("pick a %s job of %q: %w", params["status"], params["topic"], err)
	}
	if len(ids) == 0 {
		return "", false, nil
	}
	return ids[0], true, nil
}
