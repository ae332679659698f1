package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// clientTally is what one load client did.
type clientTally struct {
	creates, lists, errors, busy int
	createLatencies              []time.Duration
}

// loadHostApp runs `clients` clients against the app at baseURL for d, each
// alternating a record create and a list of the posts without the total.
func loadHostApp(ctx context.Context, baseURL string, clients int, d time.Duration) (*hostOutcome, error) {
	transport := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	createURL := baseURL + "/api/collections/posts/records"
	listURL := createURL + "?skipTotal=1"

	loadCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	tallies := make([]clientTally, clients)
	var wg sync.WaitGroup
	began := time.Now()
	for i := range tallies {
		wg.Go(func() {
			t := &tallies[i]
			for n := 0; loadCtx.Err() == nil; n++ {
				body := fmt.Sprintf(`{"title":"post %d of client %d"}`, n, i)
				t0 := time.Now()
				ok, busy := request(loadCtx, client, http.MethodPost, createURL, body)
				if loadCtx.Err() != nil {
					return // cut off by the end of the load: not counted
				}
				t.count(ok, busy, &t.creates)
				if ok {
					t.createLatencies = append(t.createLatencies, time.Since(t0))
				}
				ok, busy = request(loadCtx, client, http.MethodGet, listURL, "")
				if loadCtx.Err() != nil {
					return
				}
				t.count(ok, busy, &t.lists)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o := &hostOutcome{seconds: time.Since(began).Seconds()}
	var latencies []time.Duration
	for _, t := range tallies {
		o.creates += t.creates
		o.lists += t.lists
		o.errors += t.errors
		o.busyResponses += t.busy
		latencies = append(latencies, t.createLatencies...)
	}
	o.createP50, o.createP99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
	return o, nil
}

// count adds one request's outcome to the tally: to *done when it
// succeeded, to the errors otherwise.
func (t *clientTally) count(ok, busy bool, done *int) {
	if ok {
		*done++
		return
	}
	t.errors++
	if busy {
		t.busy++
	}
}

// request sends one request and reads its response: ok for a 2xx status,
// busy for an error response whose body mentions a busy database. A request
// that fails to be sent or read is neither.
func request(ctx context.Context, client *http.Client, method, url, body string) (ok, busy bool) {
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, reader)
	if err != nil {
		return false, false
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, false
	}
	if resp.StatusCode/100 == 2 {
		return true, false
	}
	return false, bytes.Contains(b, []byte("database is locked")) || bytes.Contains(b, []byte("SQLITE_BUSY"))
}
