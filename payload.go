package jobs

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// encodePayload returns the JSON a job stores for payload: raw JSON (a
// json.RawMessage or []byte) compacted, any other value encoded, both
// without HTML escaping, so the JSON is stored (and its size counted) as the
// caller wrote it. It refuses with ErrInvalidPayload a value that cannot be
// encoded and raw bytes that are not JSON.
func encodePayload(payload any) ([]byte, error) {
	encoded, err := marshalPayload(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPayload, err)
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
