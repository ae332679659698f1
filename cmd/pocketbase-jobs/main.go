// Command pocketbase-jobs is PocketBase's standard build with the jobs
// plugin: the prebuilt pocketbase executable's commands and flags (serve,
// superuser, migrate; JavaScript app hooks in pb_hooks and migrations in
// pb_migrations), plus the job queue, $jobs and onJobRun in pb_hooks files
// (package jobsjs), and the "jobs" command (package jobscmd). It is for apps
// that have no Go code of their own:
//
//	go install github.com/pocketbase-jobs/jobs/cmd/pocketbase-jobs@latest
//	pocketbase-jobs superuser upsert admin@example.com 'a-long-password'
//	pocketbase-jobs serve
//	pocketbase-jobs jobs list
//
// PB_JOBS_* environment variables configure the plugin (see the README's
// configuration table); a bad value stops every command but --help with one
// line naming it.
package main

import (
	"log"
	"net/http"
	"os"
	"path/filepath"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase-jobs/jobs/jobscmd"
	"github.com/pocketbase-jobs/jobs/jobsjs"
	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/plugins/jsvm"
	"github.com/pocketbase/pocketbase/plugins/migratecmd"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/osutils"
)

// flags are the command line flags that PocketBase's standard build adds to
// its root command for its plugins.
type flags struct {
	hooksDir      string
	hooksWatch    bool
	hooksPool     int
	migrationsDir string
	automigrate   bool
	publicDir     string
	indexFallback bool
}

// staticRoutePriority runs the handler that adds the pb_public route after
// every other serve handler, so a route of pb_hooks or of the plugin that
// takes the same path wins.
const staticRoutePriority = 999

func main() {
	app := pocketbase.New()
	f := addFlags(app)

	if err := jobs.Register(app, jobs.DefaultConfig()); err != nil {
		// A bad PB_JOBS_* value: every command but --help (which never
		// bootstraps the app) stops with its one line.
		app.OnBootstrap().BindFunc(func(*core.BootstrapEvent) error { return err })
	}
	// jsvm, with $jobs and onJobRun: pb_hooks and pb_migrations.
	jobsjs.MustRegister(app, jsvm.Config{
		HooksDir:      f.hooksDir,
		HooksWatch:    f.hooksWatch,
		HooksPoolSize: f.hooksPool,
		MigrationsDir: f.migrationsDir,
	})
	migratecmd.MustRegister(app, app.RootCmd, migratecmd.Config{
		TemplateLang: migratecmd.TemplateLangJS,
		Automigrate:  f.automigrate,
		Dir:          f.migrationsDir,
	})
	jobscmd.MustRegister(app, app.RootCmd)
	// PocketBase's standard build also has the "update" command of its
	// ghupdate plugin. It is left out: it would replace this binary with
	// PocketBase's own release, which has no jobs plugin. Update with go
	// install ...@latest instead.
	serveStatic(app, f.publicDir, f.indexFallback)

	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
}

// addFlags adds the flags of PocketBase's standard build to app's root
// command, with the same names and defaults, and parses the command line, so
// that their values are known before the plugins are registered.
func addFlags(app *pocketbase.PocketBase) *flags {
	f := &flags{}
	pf := app.RootCmd.PersistentFlags()
	pf.StringVar(&f.hooksDir, "hooksDir", "", "the directory with the JS app hooks")
	pf.BoolVar(&f.hooksWatch, "hooksWatch", true,
		"auto restart the app on pb_hooks file change; it has no effect on Windows")
	pf.IntVar(&f.hooksPool, "hooksPool", 15, "the total prewarm goja.Runtime instances for the JS app hooks execution")
	pf.StringVar(&f.migrationsDir, "migrationsDir", "", "the directory with the user defined migrations")
	pf.BoolVar(&f.automigrate, "automigrate", true, "enable/disable auto migrations")
	pf.StringVar(&f.publicDir, "publicDir", defaultPublicDir(), "the directory to serve static files")
	pf.BoolVar(&f.indexFallback, "indexFallback", true,
		"fallback the request to index.html on missing static path, e.g. when pretty urls are used with SPA")
	// Errors (an unknown flag, --help) are the root command's to report
	// when the app starts.
	_ = app.RootCmd.ParseFlags(os.Args[1:])
	return f
}

// serveStatic serves the files of publicDir at GET /{path...} when the app
// serves, unless a route of that pattern exists already; with indexFallback,
// a missing path answers with index.html.
func serveStatic(app core.App, publicDir string, indexFallback bool) {
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Func: func(e *core.ServeEvent) error {
			if !e.Router.HasRoute(http.MethodGet, "/{path...}") {
				e.Router.GET("/{path...}", apis.Static(os.DirFS(publicDir), indexFallback))
			}
			return e.Next()
		},
		Priority: staticRoutePriority,
	})
}

// defaultPublicDir is pb_public beside the executable, or in the working
// directory under go run, whose executable is in a temporary directory.
func defaultPublicDir() string {
	if osutils.IsProbablyGoRun() {
		return "./pb_public"
	}
	return filepath.Join(filepath.Dir(os.Args[0]), "pb_public")
}
