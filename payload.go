package jobs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// encodePayload returns the JSON a job stores for payload: raw JSON (a
// json.RawMessage or []byte) compacted, any other value encoded, both
// without HTML escaping, so the JSON is stored (and its size counted) as the
// caller wrote it. It refuses with ErrInvalidPayload a value that cannot be
// encoded, raw bytes that are not JSON, and what checkPayload refuses.
func encodePayload(payload any) ([]byte, error) {
	encoded, err := marshalPayload(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPayload, err)
	}
	if err := checkPayload(encoded); err != nil {
		return nil, err
	}
	return encoded, nil
}

// marshalPayload returns the compact JSON of payload, without HTML escaping.
func marshalPayload(payload any) ([]byte, error) {
	switch raw := payload.(type) {
	case json.RawMessage:
		return compactJSON(raw)
	case []byte:
		return compactJSON(raw)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(payload); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// compactJSON validates raw JSON and removes its insignificant spaces. Nil
// raw JSON is null, as json.RawMessage encodes it.
func compactJSON(raw []byte) ([]byte, error) {
	if raw == nil {
		return []byte("null"), nil
	}
	var buf bytes.Buffer
	buf.Grow(len(raw))
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkPayload refuses, with ErrInvalidPayload, valid JSON that is not
// valid UTF-8: PostgreSQL refuses to store it, and SQLite would serve it
// back broken. Go's encoder writes only valid UTF-8, but raw JSON, and raw
// JSON inside a value (a json.RawMessage or a MarshalJSON method), can hold
// anything.
//
// Escapes are kept as they are: "\u0000" and lone surrogates such as
// "\ud800" are valid JSON that both databases store byte for byte.
func checkPayload(encoded []byte) error {
	if !utf8.Valid(encoded) {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidPayload)
	}
	return nil
}
