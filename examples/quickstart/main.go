package main

import (
	"log"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/core"
)

func main() {
	app := pocketbase.New()

	// 注册 jobs 插件
	jobs.MustRegister(app, jobs.DefaultConfig())

	// 注册 Worker（在 Bootstrap 之后）
	app.OnBootstrap().BindFunc(func(e *core.BootstrapEvent) error {
		if err := e.Next(); err != nil {
			return err
		}

		// 注册 Worker
		store := jobs.GetJobStore(app)
		store.Register("mail_digest", func(job *jobs.Job) error {
			var payload struct {
				UserID string `json:"user_id"`
			}
			job.UnmarshalPayload(&payload)

			// 处理任务...
			log.Printf("Processing mail digest for user: %s", payload.UserID)
			return nil
		})

		return nil
	})

	// 入队任务示例
	app.OnServe().BindFunc(func(e *core.ServeEvent) error {
		e.Router.POST("/send-digest", func(re *core.RequestEvent) error {
			store := jobs.GetJobStore(re.App)
			job, err := store.Enqueue("mail_digest", map[string]any{
				"user_id": "123",
			})
			if err != nil {
				return err
			}
			return re.JSON(200, map[string]any{"job_id": job.ID})
		})
		return e.Next()
	})

	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
}
