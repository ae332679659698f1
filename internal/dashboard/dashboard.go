// Package dashboard holds the jobs dashboard: a web page for superusers,
// written as plain HTML, CSS and JavaScript without a build step, and
// embedded in the binary so that it works offline. The page calls the
// plugin's HTTP API and PocketBase's realtime API from the browser; this
// package only serves its files.
package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sync"
	"time"
)

// files holds the page (index.html), its script and style, and vendor/, the
// third-party code it uses, each with its licence.
//
//go:embed static
var files embed.FS

// ErrNotFound is returned by Serve for a name that is not a file of the
// dashboard.
var ErrNotFound = errors.New("no such dashboard file")

// contentTypes are the media types of the dashboard's files, by extension.
// A file without an extension (vendor/README) is text.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".md":   "text/plain; charset=utf-8",
	"":      "text/plain; charset=utf-8",
}

// contentSecurityPolicy lets the page load its own files and talk to its own
// origin only; it has no inline script or style, and its forms are handled
// by its script, never submitted.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; base-uri 'none'; " +
	"form-action 'none'; frame-ancestors 'none'; object-src 'none'"

// file is one embedded file, read once, with the ETag of its contents.
type file struct {
	content []byte
	etag    string
}

// loaded reads every embedded file once, keyed by its name under static/.
var loaded = sync.OnceValue(func() map[string]file {
	byName := map[string]file{}
	err := fs.WalkDir(files, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(content)
		byName[name[len("static/"):]] = file{content: content, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		return nil
	})
	if err != nil {
		// The files are compiled in: a failure here is a broken build.
		panic(fmt.Sprintf("dashboard: reading the embedded files: %v", err))
	}
	return byName
})

// Serve answers r with the dashboard file name, a path relative to the
// dashboard's root: "" (or "index.html") is the page, "app.js" its script.
// It returns ErrNotFound, having written nothing, for any other name,
// directories included.
//
// Every answer carries Cache-Control: no-cache with an ETag, so a browser
// revalidates each file (a 304 when it did not change) and sees the files
// of a new binary at once.
func Serve(w http.ResponseWriter, r *http.Request, name string) error {
	if name == "" {
		name = "index.html"
	}
	f, ok := loaded()[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	contentType, ok := contentTypes[path.Ext(name)]
	if !ok {
		contentType = "application/octet-stream"
	}
	header := w.Header()
	header.Set("Content-Type", contentType)
	header.Set("Cache-Control", "no-cache")
	header.Set("ETag", f.etag)
	header.Set("X-Content-Type-Options", "nosniff")
	header.Set("Content-Security-Policy", contentSecurityPolicy)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.content))
	return nil
}
