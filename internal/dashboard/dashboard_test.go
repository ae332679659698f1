package dashboard

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestServeRevalidatesWithTheETag(t *testing.T) {
	first := httptest.NewRecorder()
	if err := Serve(first, httptest.NewRequest(http.MethodGet, "/app.js", nil), "app.js"); err != nil {
		t.Fatal(err)
	}
	etag := first.Header().Get("ETag")
	if first.Code != http.StatusOK || etag == "" || first.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("first answer: %d, ETag %q, Cache-Control %q", first.Code, etag, first.Header().Get("Cache-Control"))
	}

	again := httptest.NewRequest(http.MethodGet, "/app.js", nil)
	again.Header.Set("If-None-Match", etag)
	second := httptest.NewRecorder()
	if err := Serve(second, again, "app.js"); err != nil {
		t.Fatal(err)
	}
	if second.Code != http.StatusNotModified || second.Body.Len() != 0 {
		t.Fatalf("revalidation: %d with %d bytes, want 304 without a body", second.Code, second.Body.Len())
	}
}

func TestServeFindsOnlyFiles(t *testing.T) {
	for _, name := range []string{"vendor", "vendor/", "../dashboard.go", "static/index.html", "/index.html", "nothing.js"} {
		w := httptest.NewRecorder()
		err := Serve(w, httptest.NewRequest(http.MethodGet, "/", nil), name)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("Serve(%q) = %v, want ErrNotFound", name, err)
		}
		if w.Body.Len() != 0 || len(w.Header()) != 0 {
			t.Errorf("Serve(%q) wrote an answer", name)
		}
	}
}

func TestEveryFileHasAContentType(t *testing.T) {
	for name := range loaded() {
		w := httptest.NewRecorder()
		if err := Serve(w, httptest.NewRequest(http.MethodGet, "/", nil), name); err != nil {
			t.Fatal(err)
		}
		if got := w.Header().Get("Content-Type"); got == "application/octet-stream" || got == "" {
			t.Errorf("%s is served as %q", name, got)
		}
	}
}
