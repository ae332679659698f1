package jobs

import (
	"fmt"
	"slices"
	"sync"
)

// handlerRegistry maps topics to their handlers. It is safe for concurrent
// use: handlers may be registered while the dispatcher runs.
type handlerRegistry struct {
	mu       sync.RWMutex
	handlers map[string]func(*Job) error
	topics   []string // sorted keys of handlers, shared read-only
}

// add binds handler to topic; a topic has one handler at most.
func (r *handlerRegistry) add(topic string, handler func(*Job) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.handlers[topic]; ok {
		return fmt.Errorf("register %q: %w", topic, ErrTopicAlreadyRegistered)
	}
	if r.handlers == nil {
		r.handlers = make(map[string]func(*Job) error)
	}
	r.handlers[topic] = handler
	topics := append(slices.Clone(r.topics), topic)
	slices.Sort(topics)
	r.topics = topics
	return nil
}

// get returns the handler of topic, or nil.
func (r *handlerRegistry) get(topic string) func(*Job) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.handlers[topic]
}

// list returns the registered topics; the caller must not modify the slice.
func (r *handlerRegistry) list() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.topics
}
