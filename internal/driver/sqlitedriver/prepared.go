package sqlitedriver

import (
	"sync"

	"github.com/pocketbase/dbx"
)

// prepared is one statement prepared on first use and reused after, for
// the hot path, where compiling SQL on every call would cost more than
// running it. A prepared dbx query carries its bound parameters, so uses
// are serialised.
type prepared struct {
	mu sync.Mutex
	q  *dbx.Query
}

// use runs fn with the statement sql, prepared on db the first time.
func (p *prepared) use(db dbx.Builder, sql string, fn func(q *dbx.Query) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.q == nil {
		p.q = db.NewQuery(sql).Prepare()
	}
	return fn(p.q)
}

// close releases the statement, if it was prepared.
func (p *prepared) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.q != nil {
		p.q.Close()
		p.q = nil
	}
}
