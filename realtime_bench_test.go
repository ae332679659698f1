package jobs

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// realtimeBurst is the number of jobs of one burst of BenchmarkRealtimeBurst.
const realtimeBurst = 20000

// BenchmarkRealtimeBurst measures what a burst of 20,000 jobs, enqueued in
// batches of 100 and run by no-op handlers, costs a realtime subscriber of
// "jobs": the messages and bytes it receives per burst, the most messages
// it receives within one second, and the most goroutines of the process
// meanwhile, while a second subscriber never reads its connection (a
// stalled browser). Without coalescing the subscriber would get three
// messages per job (create, processing, completed): 60,000 per burst.
func BenchmarkRealtimeBurst(b *testing.B) {
	eachBackendB(b, func(b *testing.B, be backend) {
		cfg := DefaultConfig()
		cfg.PollInterval = 50 * time.Millisecond
		app := newApp(b, be, cfg)
		store := GetJobStore(app)
		if err := store.Register("burst", func(*Job) error { return nil }); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = store.Stop() })
		url := serveApp(b, app)
		token := superuserToken(b, app)
		sub := connectRealtime(b, url)
		sub.subscribe(b, token, "jobs")
		stalledRealtimeClient(b, url, token)

		var messages, bytes, peakPerSecond, peakGoroutines atomic.Int64
		stop := make(chan struct{})
		counted := make(chan struct{})
		go func() {
			defer close(counted)
			var window []time.Time
			for {
				select {
				case <-stop:
					return
				case e, ok := <-sub.events:
					if !ok {
						return
					}
					now := time.Now()
					messages.Add(1)
					bytes.Add(int64(len(e.name) + len(e.data)))
					window = append(window, now)
					for len(window) > 0 && now.Sub(window[0]) > time.Second {
						window = window[1:]
					}
					if n := int64(len(window)); n > peakPerSecond.Load() {
						peakPerSecond.Store(n)
					}
				}
			}
		}()
		items := make([]JobEnqueueItem, 100)
		for i := range items {
			items[i] = JobEnqueueItem{Topic: "burst", Payload: map[string]int{"i": i}}
		}
		b.ResetTimer()
		for range b.N {
			for range realtimeBurst / len(items) {
				if _, err := store.EnqueueMany(items); err != nil {
					b.Fatal(err)
				}
				if n := int64(runtime.NumGoroutine()); n > peakGoroutines.Load() {
					peakGoroutines.Store(n)
				}
			}
			waitQuiet(b, store, &messages)
		}
		b.StopTimer()
		close(stop)
		<-counted
		b.ReportMetric(float64(messages.Load())/float64(b.N), "msgs/burst")
		b.ReportMetric(float64(bytes.Load())/float64(b.N)/1024, "KiB/burst")
		b.ReportMetric(float64(peakPerSecond.Load()), "peak-msgs/s")
		b.ReportMetric(float64(peakGoroutines.Load()), "peak-goroutines")
	})
}

// waitQuiet waits until every job of store is completed and no message
// came for a second (five flush intervals).
func waitQuiet(b *testing.B, store *JobStore, messages *atomic.Int64) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	last, quietSince := messages.Load(), time.Now()
	tick := time.NewTicker(realtimeInterval / 4)
	defer tick.Stop()
	for ; time.Now().Before(deadline); <-tick.C {
		st, err := store.Stats()
		if err != nil {
			b.Fatal(err)
		}
		if n := messages.Load(); n != last {
			last, quietSince = n, time.Now()
		}
		if st.Pending+st.Processing == 0 && time.Since(quietSince) > 5*realtimeInterval {
			return
		}
	}
	b.Fatal("the burst did not finish within 5 minutes")
}

// superuserToken returns an auth token of the test data's superuser.
func superuserToken(t testing.TB, app core.App) string {
	t.Helper()
	record, err := app.FindAuthRecordByEmail(core.CollectionNameSuperusers, "test@example.com")
	if err != nil {
		t.Fatal(err)
	}
	token, err := record.NewAuthToken()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// stalledRealtimeClient connects to the realtime API of the server at url,
// subscribes to "jobs" and then never reads its connection, until t ends.
func stalledRealtimeClient(t testing.TB, url, token string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/realtime", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	buf := make([]byte, 512)
	n, err := resp.Body.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	_, data, _ := strings.Cut(string(buf[:n]), "data:")
	var connect struct {
		ClientID string `json:"clientId"`
	}
	if err := json.NewDecoder(strings.NewReader(data)).Decode(&connect); err != nil {
		t.Fatalf("PB_CONNECT %q: %v", buf[:n], err)
	}
	c := &realtimeClient{url: url, id: connect.ClientID}
	c.subscribe(t, token, "jobs")
}
