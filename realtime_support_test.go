package jobs

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// serveApp serves app (OnServe handlers included) on a test HTTP server
// until t ends, and returns the server's URL.
func serveApp(t testing.TB, app *tests.TestApp) string {
	t.Helper()
	router, err := apis.NewRouter(app)
	if err != nil {
		t.Fatalf("new router: %v", err)
	}
	var server *httptest.Server
	event := &core.ServeEvent{App: app, Router: router}
	err = app.OnServe().Trigger(event, func(e *core.ServeEvent) error {
		mux, err := e.Router.BuildMux()
		if err != nil {
			return err
		}
		server = httptest.NewServer(mux)
		return nil
	})
	if err != nil {
		t.Fatalf("serve: %v", err)
	}
	t.Cleanup(server.Close)
	return server.URL
}

// sseEvent is one event of a realtime connection.
type sseEvent struct {
	name string
	data string
}

// realtimeMsg is a realtime message of the job topics as a client decodes
// it.
type realtimeMsg struct {
	topic  string
	Action string          `json:"action"`
	Job    *Job            `json:"job"`
	Stats  *JobStats       `json:"stats"`
	Raw    json.RawMessage `json:"-"`
}

// realtimeClient is a client of /api/realtime, as the JS SDK is one.
type realtimeClient struct {
	url, id string
	events  chan sseEvent
}

// connectRealtime opens a realtime connection to the server at url, kept
// until t ends, and returns it once PocketBase gave it its client id.
func connectRealtime(t testing.TB, url string) *realtimeClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/realtime", nil)
	if err != nil {
		t.Fatalf("realtime request: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("connect to realtime: %v", err)
	}
	c := &realtimeClient{url: url, events: make(chan sseEvent, 100000)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(c.events)
		c.read(resp)
	}()
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		<-done
	})
	select {
	case e, ok := <-c.events:
		if !ok || e.name != "PB_CONNECT" {
			t.Fatalf("first realtime event %+v, want PB_CONNECT", e)
		}
		var connect struct {
			ClientID string `json:"clientId"`
		}
		if err := json.Unmarshal([]byte(e.data), &connect); err != nil {
			t.Fatalf("PB_CONNECT data %q: %v", e.data, err)
		}
		c.id = connect.ClientID
	case <-time.After(10 * time.Second):
		t.Fatal("no PB_CONNECT within 10s")
	}
	return c
}

// read parses the event stream of resp into c.events until it ends.
func (c *realtimeClient) read(resp *http.Response) {
	scanner := bufio.NewScanner(resp.Body)
	scanner.Buffer(make([]byte, 0, 64*1024), 4<<20)
	var e sseEvent
	for scanner.Scan() {
		line := scanner.Text()
		switch {
		case line == "":
			if e.name != "" {
				c.events <- e
			}
			e = sseEvent{}
		case strings.HasPrefix(line, "event:"):
			e.name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			e.data += strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
		}
	}
}

// subscribe sets the client's subscriptions, with the Authorization header
// token ("" for a guest), and fails t unless PocketBase accepts them.
func (c *realtimeClient) subscribe(t testing.TB, token string, topics ...string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"clientId": c.id, "subscriptions": topics})
	if err != nil {
		t.Fatalf("encode subscriptions: %v", err)
	}
	req, err := http.NewRequest(http.MethodPost, c.url+"/api/realtime", strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("subscribe request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("subscribe %v: status %d, want 204", topics, resp.StatusCode)
	}
}

// next returns the next message on a job topic, failing t when none comes
// within the deadline.
func (c *realtimeClient) next(t testing.TB, within time.Duration) realtimeMsg {
	t.Helper()
	select {
	case e, ok := <-c.events:
		if !ok {
			t.Fatal("the realtime connection ended")
		}
		m := realtimeMsg{topic: e.name, Raw: json.RawMessage(e.data)}
		if err := json.Unmarshal([]byte(e.data), &m); err != nil {
			t.Fatalf("message %q on %s: %v", e.data, e.name, err)
		}
		return m
	case <-time.After(within):
		t.Fatalf("no realtime message within %v", within)
		return realtimeMsg{}
	}
}

// waitMsg returns the first message for which match holds, skipping the
// others, failing t when none comes within the deadline.
func (c *realtimeClient) waitMsg(t testing.TB, within time.Duration, what string, match func(realtimeMsg) bool) realtimeMsg {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("no realtime message %s within %v", what, within)
		}
		if m := c.next(t, left); match(m) {
			return m
		}
	}
}

// pending returns the events received and not read yet, without waiting.
func (c *realtimeClient) pending() []sseEvent {
	var out []sseEvent
	for {
		select {
		case e, ok := <-c.events:
			if !ok {
				return out
			}
			out = append(out, e)
		default:
			return out
		}
	}
}
