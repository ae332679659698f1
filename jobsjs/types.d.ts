/// <reference path="types.d.ts" />
// Declarations of the jobs plugin's JavaScript bindings (pocketbase-jobs,
// package jobsjs), for editors. Reference this file from a pb_hooks file:
//     /// <reference path="../pb_data/jobs.d.ts" />

declare namespace jobs {
  type Status = "pending" | "processing" | "completed" | "failed" | "cancelled"

  /** A job, as the HTTP API's JSON shows it. */
  interface Job {
    id: string
    topic: string
    /** The payload, decoded. */
    payload: any
    status: Status
    /** RFC 3339, UTC. */
    run_at: string
    retries: number
    max_retries: number
    attempts: number
    last_error: string
    /** Only while processing. */
    locked_until?: string
    priority: number
    unique_key: string
    created: string
    updated: string
    /** True only on what an enqueue returned instead of storing a job. */
    duplicate?: boolean
  }

  interface JobList {
    items: Job[]
    total: number
    limit: number
    offset: number
  }

  interface JobStats {
    pending: number
    processing: number
    completed: number
    failed: number
    cancelled: number
    total: number
  }

  interface TopicInfo extends JobStats {
    topic: string
    paused: boolean
    has_handler: boolean
  }

  interface ScheduleInfo {
    name: string
    cron: string
    topic: string
    payload: any
    next_run?: string
    last_run?: string
  }

  interface EnqueueOptions {
    /** When the job may run: a Date or an RFC 3339 string; default now. */
    runAt?: Date | string
    /** Retries after the first attempt; 0 = none; default the plugin's MaxRetries. */
    maxRetries?: number
    /** -1000..1000, higher runs first; default 0. */
    priority?: number
    /** While a pending or processing job of the topic has this key, enqueue returns it. */
    uniqueKey?: string
  }

  interface ListFilter {
    topic?: string
    status?: Status
    /** Page size; default 20, at most 500. */
    limit?: number
    offset?: number
  }

  /** A Go error value for a handler to return or throw. */
  interface HandlerResult {}

  interface Jobs {
    enqueue(topic: string, payload?: any, options?: EnqueueOptions): Job
    get(id: string): Job
    list(filter?: ListFilter): JobList
    stats(): JobStats
    cancel(id: string): Job
    requeue(id: string): Job
    delete(id: string): void
    pause(topic: string): void
    resume(topic: string): void
    topics(): TopicInfo[]
    schedule(name: string, cron: string, topic: string, payload?: any): void
    unschedule(name: string): void
    schedules(): ScheduleInfo[]
    /** Returned (or thrown) by a handler: run the job again in ms milliseconds, the attempt given back. */
    snooze(ms: number): HandlerResult
    /** Returned (or thrown) by a handler: fail the job at once, with reason as last_error. */
    skipRetry(reason?: string | Error): HandlerResult
    /** $jobs over another app, such as a transaction's txApp. */
    withApp(app: core.App): Jobs
  }

  interface JobEvent {
    job: Job
    app: core.App
    /** Runs the topic's next handler; throws its error. */
    next(): void
  }
}

/** The job store of $app. Throws an Error with the Go error's message when a call fails. */
declare var $jobs: jobs.Jobs

/**
 * Binds a job handler to topics. Throw to fail the attempt (the message becomes last_error),
 * or return $jobs.snooze(ms) / $jobs.skipRetry(reason); call e.next() to pass the job on.
 */
declare function onJobRun(handler: (e: jobs.JobEvent) => void | jobs.HandlerResult, ...topics: string[]): void
