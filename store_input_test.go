package jobs

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// expectStoredJobs fails the test unless the store holds n jobs.
func expectStoredJobs(t *testing.T, store *JobStore, n int64) {
	t.Helper()
	stats, err := store.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if stats.Total != n {
		t.Fatalf("the store holds %d jobs, want %d", stats.Total, n)
	}
}

// expectStoredPayload fails the test unless job id's payload reads back as
// exactly want.
func expectStoredPayload(t *testing.T, store *JobStore, id, want string) {
	t.Helper()
	got, err := store.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Payload) != want {
		t.Fatalf("stored payload %q, want %q", got.Payload, want)
	}
}

// TestEnqueueRefusesAmbiguousKeys checks that a payload in which a decoder
// could take one key for another (a rule reads one, a handler the other) is
// refused, raw or encoded from a Go value, at any depth.
func TestEnqueueRefusesAmbiguousKeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := GetJobStore(newApp(t, b, testConfig()))
		refused := []any{
			json.RawMessage(`{"user_id":"4q1xlclmfloku33","USER_ID":"oap640cot4yru2s"}`),
			json.RawMessage(`{"user_id":"4q1xlclmfloku33","user_id":"oap640cot4yru2s"}`),
			json.RawMessage(`{"user\u005fid":"oap640cot4yru2s","user_id":"4q1xlclmfloku33"}`),
			json.RawMessage(`{"list":[1,{"deep":{"k":1,"\u212a":2}}]}`), // KELVIN SIGN folds to k
			map[string]any{"a": 1, "A": 2},
			map[string]any{"outer": map[string]any{"Straße": 1, "STRAßE": 2}},
		}
		for _, payload := range refused {
			_, err := store.Enqueue("t", payload)
			expectErr(t, err, ErrInvalidPayload)
		}
		expectStoredJobs(t, store, 0)

		// One key in several objects is no ambiguity.
		job := mustEnqueue(t, store, "t", json.RawMessage(`{"a":{"a":1,"b":2},"b":[{"a":3},{"a":4}]}`), nil)
		expectStoredPayload(t, store, job.ID, `{"a":{"a":1,"b":2},"b":[{"a":3},{"a":4}]}`)
	})
}

// TestEnqueueRefusesTextThatIsNotUTF8 checks that a payload holding bytes
// that are not UTF-8 is refused on every database, however it is given.
func TestEnqueueRefusesTextThatIsNotUTF8(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := GetJobStore(newApp(t, b, testConfig()))
		refused := []any{
			json.RawMessage("{\"name\":\"caf\xe9\"}"), // Latin-1
			[]byte("\"\xff\""),
			map[string]any{"nested": json.RawMessage("\"\xed\xa0\x80\"")}, // an encoded surrogate
		}
		for _, payload := range refused {
			_, err := store.Enqueue("t", payload)
			expectErr(t, err, ErrInvalidPayload)
		}
		expectStoredJobs(t, store, 0)
	})
}

// TestPayloadEscapesRoundTrip checks that escapes a Go decoder accepts but
// some databases treat specially (NUL, lone surrogates) are stored and read
// back byte for byte on every database.
func TestPayloadEscapesRoundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := GetJobStore(newApp(t, b, testConfig()))
		for _, payload := range []string{
			`"\u0000"`,
			`{"nul":"a\u0000b","\u0000":0}`,
			`{"lone":["\ud800","\udc00","\udc00\ud800"],"pair":"\ud83d\ude00"}`,
			`"\\u0000 is not an escape here"`,
		} {
			job := mustEnqueue(t, store, "t", json.RawMessage(payload), nil)
			expectStoredPayload(t, store, job.ID, payload)
		}
	})
}

// TestPayloadIsStoredAsSent checks that a payload is stored as the compact
// JSON the caller gave (raw JSON) or Go's encoding of a value, without HTML
// escaping.
func TestPayloadIsStoredAsSent(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := GetJobStore(newApp(t, b, testConfig()))
		cases := []struct {
			payload any
			want    string
		}{
			{json.RawMessage(" { \"html\" : \"<b>&amp;</b>\" ,\n \"sep\": \"\u2028\\u2029\" } "), "{\"html\":\"<b>&amp;</b>\",\"sep\":\"\u2028\\u2029\"}"},
			{[]byte(`[ "<", ">", "&" ]`), `["<",">","&"]`},
			{map[string]string{"html": "<b>&</b>"}, `{"html":"<b>&</b>"}`},
			{"<&>", `"<&>"`},
		}
		for _, c := range cases {
			job := mustEnqueue(t, store, "t", c.payload, nil)
			if string(job.Payload) != c.want {
				t.Errorf("enqueue returned the payload %q, want %q", job.Payload, c.want)
			}
			expectStoredPayload(t, store, job.ID, c.want)
		}
	})
}

// TestPayloadLimitCountsTheJSONAsSent checks the size limit on payloads of
// characters Go's default encoding would escape: exactly MaxPayloadSize
// bytes are accepted, one more is refused.
func TestPayloadLimitCountsTheJSONAsSent(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		const limit = 1024
		cfg := testConfig()
		cfg.MaxPayloadSize = limit
		store := GetJobStore(newApp(t, b, cfg))
		// A JSON string's encoding is its text plus two quotes.
		fits := []any{
			strings.Repeat("&", limit-2),
			json.RawMessage(`"` + strings.Repeat("<>", (limit-2)/2) + `"`),
		}
		for _, payload := range fits {
			job := mustEnqueue(t, store, "t", payload, nil)
			if len(job.Payload) != limit {
				t.Fatalf("payload stored as %d bytes, want %d", len(job.Payload), limit)
			}
		}
		tooLarge := []any{
			strings.Repeat("&", limit-1),
			json.RawMessage(`"` + strings.Repeat("<>", (limit-2)/2) + `>"`),
		}
		for _, payload := range tooLarge {
			_, err := store.Enqueue("t", payload)
			expectErr(t, err, ErrPayloadTooLarge)
		}
		expectStoredJobs(t, store, int64(len(fits)))
	})
}

// TestEnqueueRefusesOptionsOutOfRange checks that retries and run times
// that some database cannot store are refused as invalid options, and that
// the bounds themselves are stored and read back.
func TestEnqueueRefusesOptionsOutOfRange(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := GetJobStore(newApp(t, b, testConfig()))
		refused := []*JobEnqueueOptions{
			{MaxRetries: 1 << 40},
			{MaxRetries: MaxRetriesLimit + 1},
			{RunAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
			{RunAt: time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("UTC-2", -2*60*60))}, // 10000 in UTC
			{RunAt: time.Date(0, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		}
		for _, opts := range refused {
			_, err := store.EnqueueWithOptions("t", nil, opts)
			expectErr(t, err, ErrInvalidOptions)
		}
		expectStoredJobs(t, store, 0)

		for _, runAt := range []time.Time{
			time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC),
			time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		} {
			job := mustEnqueue(t, store, "t", nil, &JobEnqueueOptions{RunAt: runAt, MaxRetries: MaxRetriesLimit})
			got, err := store.Get(job.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !got.RunAt.Equal(runAt) || got.MaxRetries != MaxRetriesLimit {
				t.Errorf("stored run_at %v and max_retries %d, want %v and %d", got.RunAt, got.MaxRetries, runAt, MaxRetriesLimit)
			}
			if _, err := json.Marshal(got); err != nil {
				t.Errorf("the stored job has no JSON form: %v", err)
			}
		}
	})
}

// TestDefaultRetryBackoffFitsEveryAllowedRetry checks that the default
// backoff of the last retry a job may have neither overflows nor lands
// beyond the run times a database stores.
func TestDefaultRetryBackoffFitsEveryAllowedRetry(t *testing.T) {
	last := DefaultRetryBackoff(MaxRetriesLimit)
	if want := float64(MaxRetriesLimit) * float64(MaxRetriesLimit) * float64(time.Minute); float64(last) != want {
		t.Fatalf("DefaultRetryBackoff(%d) = %v, want %v minutes", MaxRetriesLimit, last, want/float64(time.Minute))
	}
	if runAt := time.Now().Add(last); runAt.Year() > 9999 {
		t.Fatalf("the last retry would run in %d", runAt.Year())
	}
}

// TestTransactionalEnqueueRefusesBadInput checks that an enqueue in a
// transaction makes the checks of a direct one: with PostgreSQL, a job the
// job database could not store never reaches the outbox.
func TestTransactionalEnqueueRefusesBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, testConfig())
		err := app.RunInTransaction(func(txApp core.App) error {
			store := GetJobStore(txApp)
			_, err := store.Enqueue("t", json.RawMessage("{\"name\":\"caf\xe9\"}"))
			expectErr(t, err, ErrInvalidPayload)
			_, err = store.EnqueueWithOptions("t", nil, &JobEnqueueOptions{MaxRetries: 1 << 40})
			expectErr(t, err, ErrInvalidOptions)
			_, err = store.Enqueue("t", map[string]any{"a": 1, "A": 2})
			expectErr(t, err, ErrInvalidPayload)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		expectStoredJobs(t, GetJobStore(app), 0)
		if b.name == "postgres" {
			expectOutboxEmpty(t, app)
		}
	})
}
