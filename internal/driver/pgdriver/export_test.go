package pgdriver

// WaitAnnounced returns once d has sent every notification it announced.
func WaitAnnounced(d *Driver) { d.announcer.wait() }
