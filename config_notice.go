package jobs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// configNotice is a line about the configuration that Register cannot log
// itself: the app's logger is only ready once the app bootstraps.
type configNotice struct {
	level slog.Level
	msg   string
	args  []any
}

// configNotices returns the notices about config (as resolved) and the
// environment environ (as os.Environ returns it): a warning for each unknown
// PB_JOBS_* variable, and, for an enabled plugin configured by a Config
// literal, that HTTPEnabled, DashboardEnabled and AutoStart are on.
func configNotices(config Config, environ []string) []configNotice {
	var notices []configNotice
	for _, v := range unknownEnv(environ) {
		notices = append(notices, configNotice{
			level: slog.LevelWarn,
			msg:   fmt.Sprintf("jobs: unknown environment variable %s is ignored; did you mean %s?", v.name, v.closest),
			args:  []any{"variable", v.name, "closest", v.closest},
		})
	}
	if !config.fromDefaultConfig && !config.Disabled {
		notices = append(notices, configNotice{
			level: slog.LevelInfo,
			msg: "jobs: the Config was not made by jobs.DefaultConfig(), so HTTPEnabled, DashboardEnabled and AutoStart take their default, true; " +
				"to turn them off, start from jobs.DefaultConfig(), or set PB_JOBS_HTTP_ENABLED=false / PB_JOBS_DASHBOARD_ENABLED=false / PB_JOBS_AUTO_START=false",
			args: []any{"httpEnabled", config.HTTPEnabled, "dashboardEnabled", config.DashboardEnabled, "autoStart", config.AutoStart},
		})
	}
	return notices
}

// logConfigNotices logs notices with the app's logger each time app
// bootstraps, and at once if it is bootstrapped already.
func logConfigNotices(app core.App, notices []configNotice) {
	if len(notices) == 0 {
		return
	}
	log := func(logger *slog.Logger) {
		for _, n := range notices {
			logger.Log(context.Background(), n.level, n.msg, n.args...)
		}
	}
	if app.IsBootstrapped() {
		log(app.Logger())
	}
	app.OnBootstrap().Bind(&hook.Handler[*core.BootstrapEvent]{
		Id: hookIDConfigNotices,
		Func: func(e *core.BootstrapEvent) error {
			if err := e.Next(); err != nil {
				return err
			}
			log(app.Logger())
			return nil
		},
	})
}
