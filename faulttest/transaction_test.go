//go:build unix

package faulttest

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
)

// TestCrashAroundTransaction kills a worker right after a transaction that
// stored an order and enqueued its job committed, and again while such a
// transaction is open. After the restarts the committed order and its job
// are both there and the job runs; the uncommitted order left neither.
func TestCrashAroundTransaction(t *testing.T) {
	bin := buildWorker(t)
	eachBackend(t, func(t *testing.T, b backend) {
		n := newNode(t, bin, b, "PB_JOBS_POLL_INTERVAL=100ms", "PB_JOBS_LOCK_DURATION=2s")
		p := n.start()
		table := openJobTable(t, b, n.dir)
		ctx := context.Background()
		c := newClient(n.url(""), 1)
		defer c.close()

		status, err := c.do(ctx, http.MethodPost, "/fault/orders/committed", nil, nil)
		if err != nil || status != http.StatusNoContent {
			t.Fatalf("order in a committed transaction: status %d, %v", status, err)
		}
		p.kill() // before the job may have run (or, on PostgreSQL, been relayed)

		p = n.start()
		held := make(chan error, 1)
		go func() {
			_, err := c.do(ctx, http.MethodPost, "/fault/orders/uncommitted?hold=1", nil, nil)
			held <- err
		}()
		waitFor(t, 10*time.Second, "the transaction of the uncommitted order to be open", func() (bool, error) {
			runs, err := readExecLog(n.execLog)
			return slices.ContainsFunc(runs, func(r execution) bool { return r.topic == "tx" }), err
		})
		p.kill()
		if err := <-held; err == nil {
			t.Fatal("the held order got a response, though its process was killed inside the transaction")
		}

		p = n.start()
		waitFor(t, 30*time.Second, "the committed order's job to complete", func() (bool, error) {
			completed, err := table.countTopic("order", "completed")
			return completed > 0, err
		})
		p.terminate()

		if orders := readOrders(t, n.dir); !slices.Equal(orders, []string{"committed"}) {
			t.Errorf("stored orders %v, want only the committed one", orders)
		}
		rows, err := table.all()
		if err != nil {
			t.Fatal(err)
		}
		jobsOfOrders := 0
		for _, row := range rows {
			if row.Topic == "order" {
				jobsOfOrders++
			}
		}
		if jobsOfOrders != 1 {
			t.Errorf("%d order jobs, want 1: the committed order's", jobsOfOrders)
		}
	})
}

// readOrders returns the ids in the app's fault_orders table.
func readOrders(t *testing.T, dir string) []string {
	t.Helper()
	db, err := dbx.Open("sqlite", "file:"+filepath.Join(dir, "data.db")+"?mode=ro")
	if err != nil {
		t.Fatalf("open the app database: %v", err)
	}
	defer db.Close()
	var ids []string
	if err := db.NewQuery(`SELECT id FROM fault_orders ORDER BY id`).Column(&ids); err != nil {
		t.Fatalf("read the orders: %v", err)
	}
	return ids
}
