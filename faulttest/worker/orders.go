package main

import (
	"fmt"
	"net/http"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// createOrdersTable creates the app's own table of orders, which the order
// route writes in the same transaction as its job.
func createOrdersTable(app core.App) error {
	_, err := app.NonconcurrentDB().NewQuery(`CREATE TABLE IF NOT EXISTS fault_orders (id TEXT PRIMARY KEY NOT NULL)`).Execute()
	if err != nil {
		return fmt.Errorf("create the orders table: %w", err)
	}
	return nil
}

// handleOrder serves POST /fault/orders/{id}: in one transaction it stores
// the order and enqueues an "order" job for it. With ?hold=1 it records
// "tx ID" in the execution log and keeps the transaction open until the
// request ends, so that a test can kill the process inside it.
func handleOrder(rec *recorder) func(*core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		id := e.Request.PathValue("id")
		hold := e.Request.URL.Query().Get("hold") == "1"
		err := e.App.RunInTransaction(func(txApp core.App) error {
			_, err := txApp.NonconcurrentDB().NewQuery(`INSERT INTO fault_orders (id) VALUES ({:id})`).
				Bind(dbx.Params{"id": id}).Execute()
			if err != nil {
				return fmt.Errorf("store order %s: %w", id, err)
			}
			if _, err := jobs.GetJobStore(txApp).Enqueue(topicOrder, map[string]string{"order": id}); err != nil {
				return fmt.Errorf("enqueue the job of order %s: %w", id, err)
			}
			if !hold {
				return nil
			}
			if err := rec.append("tx", id, 0, 0); err != nil {
				return err
			}
			<-e.Request.Context().Done()
			return fmt.Errorf("order %s: %w", id, e.Request.Context().Err())
		})
		if err != nil {
			return e.InternalServerError("", err)
		}
		return e.NoContent(http.StatusNoContent)
	}
}
