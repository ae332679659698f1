package pgdriver

import (
	"context"
	"fmt"
	"time"
)

// serverTimeSQL reads the server's clock as it is when the statement runs
// (now() would be the start of the transaction).
const serverTimeSQL = `SELECT clock_timestamp()`

// ServerTime returns the PostgreSQL server's current time.
func (d *Driver) ServerTime(ctx context.Context) (time.Time, error) {
	var t time.Time
	if err := d.pool.QueryRow(ctx, serverTimeSQL).Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("read the server's clock: %w", err)
	}
	return t, nil
}
