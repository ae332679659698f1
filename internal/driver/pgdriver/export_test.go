package pgdriver

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// WaitAnnounced returns once d has sent every notification it announced.
func WaitAnnounced(d *Driver) { d.announcer.wait() }

// ExplainClaim returns the plan of the claim statement for p, planned with
// the settings every claim is sent with.
func ExplainClaim(ctx context.Context, d *Driver, p driver.ClaimParams) (string, error) {
	var lines []string
	err := d.withSettings(ctx, claimSettings, "EXPLAIN "+claimSQL, claimArgs(p), func(results pgx.BatchResults) error {
		rows, err := results.Query()
		if err != nil {
			return err
		}
		lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return strings.Join(lines, "\n"), err
}
