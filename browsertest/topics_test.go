package browsertest

import (
	"fmt"
	"testing"
)

// topicRow is the CSS selector of topic's row in the topics table.
func topicRow(topic string) string { return fmt.Sprintf(`#topics tr[data-topic=%s]`, js(topic)) }

// Pausing a topic from its row marks it paused, the API agrees, and a job
// enqueued meanwhile waits; resuming marks it active, and the job runs.
func TestPauseAndResumeTopic(t *testing.T) {
	const topic = "hold"
	ctx := newPage(t)
	signIn(t, ctx)
	waitText(t, ctx, topicRow(topic)+" [data-field=handler]", "yes")
	waitText(t, ctx, topicRow(topic)+" [data-field=paused]", "active")

	do(t, ctx, "pause the topic", click(topicRow(topic)+" [data-action=pause]"))
	t.Cleanup(func() { setTopicPaused(t, topic, false) }) // should the test stop half-way
	waitText(t, ctx, topicRow(topic)+" [data-field=paused]", "paused")
	if !topicPaused(t, topic) {
		t.Fatal("the API says the topic is not paused")
	}
	held := enqueue(t, enqueueBody{Topic: topic, Payload: map[string]any{"held": true}})
	waitText(t, ctx, jobRow(held.ID)+" [data-field=status]", "pending")
	screenshot(t, ctx, "topic-paused")

	do(t, ctx, "resume the topic", click(topicRow(topic)+" [data-action=resume]"))
	waitText(t, ctx, topicRow(topic)+" [data-field=paused]", "active")
	if topicPaused(t, topic) {
		t.Fatal("the API says the topic is still paused")
	}
	waitText(t, ctx, jobRow(held.ID)+" [data-field=status]", "completed")
}
