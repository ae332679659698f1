package sqlitedriver

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/pocketbase/dbx"
)

// TestWriteTxRunsAStaleTransactionAgain: a transaction that read, then saw
// another connection write before its own first write, fails with
// SQLITE_BUSY_SNAPSHOT; writeTx runs it again from the start, and the
// second run commits.
func TestWriteTxRunsAStaleTransactionAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db") + "?_pragma=busy_timeout(1000)&_pragma=journal_mode(WAL)"
	write, err := dbx.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer write.Close()
	write.DB().SetMaxOpenConns(1)
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec(`CREATE TABLE t (n INTEGER)`); err != nil {
		t.Fatal(err)
	}

	d := New(write, write)
	runs := 0
	var firstErr error
	err = d.writeTx(t.Context(), nil, func(_ *sql.DB, tx *sql.Tx) error {
		runs++
		var n int
		if err := tx.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil {
			return err
		}
		if runs == 1 {
			if _, err := other.Exec(`INSERT INTO t VALUES (1)`); err != nil {
				t.Fatalf("the other connection's write: %v", err)
			}
		}
		_, err := tx.Exec(`INSERT INTO t VALUES (2)`)
		if runs == 1 {
			firstErr = err
		}
		return err
	})
	if !staleSnapshot(firstErr) {
		t.Fatalf("the first run's write failed with %v, want SQLITE_BUSY_SNAPSHOT", firstErr)
	}
	if err != nil || runs != 2 {
		t.Fatalf("writeTx = %v after %d runs; want success after 2", err, runs)
	}
	var n int
	if err := other.QueryRow(`SELECT count(*) FROM t WHERE n = 2`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows the second run wrote: %d, %v; want 1", n, err)
	}
}
