package jobs

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestEncodePayload checks the exact JSON stored for each kind of payload.
func TestEncodePayload(t *testing.T) {
	cases := []struct {
		name    string
		payload any
		want    string // "" when refused
	}{
		{"nil", nil, `null`},
		{"nil raw message", json.RawMessage(nil), `null`},
		{"nil bytes", []byte(nil), `null`},
		{"raw message, compacted", json.RawMessage(" {\n\t\"a\" : [ 1 , 2 ] } "), `{"a":[1,2]}`},
		{"raw HTML characters kept", json.RawMessage(`"<b>&amp;</b>"`), `"<b>&amp;</b>"`},
		{"raw line separator kept", json.RawMessage("\"\u2028\""), "\"\u2028\""},
		{"raw escapes kept", json.RawMessage(`"\u003c\u0000\ud800\/"`), `"\u003c\u0000\ud800\/"`},
		{"value, HTML characters not escaped", map[string]string{"h": "<b>&</b>"}, `{"h":"<b>&</b>"}`},
		{"value holding raw JSON", map[string]any{"raw": json.RawMessage(`[ "&" ]`)}, `{"raw":["&"]}`},
		{"value with text that is not UTF-8, made valid", "caf\xe9", `"caf\ufffd"`},
		{"empty raw message", json.RawMessage{}, ""},
		{"raw message that is not JSON", json.RawMessage(`{"a":`), ""},
		{"raw message with trailing data", json.RawMessage(`{} {}`), ""},
		{"raw message that is not UTF-8", json.RawMessage("\"\xc3\""), ""},
		{"value holding raw JSON that is not UTF-8", []any{json.RawMessage("\"\xff\"")}, ""},
		{"value that cannot be encoded", func() {}, ""},
	}
	for _, c := range cases {
		got, err := encodePayload(c.payload)
		switch {
		case c.want == "" && !errors.Is(err, ErrInvalidPayload):
			t.Errorf("%s: encoded %q (error %v), want ErrInvalidPayload", c.name, got, err)
		case c.want != "" && (err != nil || string(got) != c.want):
			t.Errorf("%s: encoded %q (error %v), want %q", c.name, got, err, c.want)
		}
	}
}
