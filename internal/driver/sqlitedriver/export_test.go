package sqlitedriver

import (
	"context"
	"strings"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// ExplainClaim returns SQLite's plan of the claim statement for p, one
// detail line per step, each indented by its depth in the plan.
func ExplainClaim(ctx context.Context, d *Driver, p driver.ClaimParams) (string, error) {
	var steps []struct {
		ID     int    `db:"id"`
		Parent int    `db:"parent"`
		Detail string `db:"detail"`
	}
	err := d.write.NewQuery(`EXPLAIN QUERY PLAN ` + claimSQL(len(p.Topics))).WithContext(ctx).Bind(claimParams(p)).All(&steps)
	if err != nil {
		return "", err
	}
	depth := map[int]int{0: -1}
	lines := make([]string, len(steps))
	for i, s := range steps {
		depth[s.ID] = depth[s.Parent] + 1
		lines[i] = strings.Repeat("  ", depth[s.ID]) + s.Detail
	}
	return strings.Join(lines, "\n"), nil
}
