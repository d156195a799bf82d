package backplane

import "fmt"

// MessageKind says what a Message is.
type MessageKind uint8

// The kinds of Message.
const (
	// Disconnected: a device this one watches has disconnected
	// (Message.From), cleanly or with a fault (Message.Fault).
	Disconnected MessageKind = iota + 1
	// Shutdown: someone holding a Line asks this device to stop
	// (Message.From names the requester).
	Shutdown
)

// String returns "disconnected" or "shutdown".
func (k MessageKind) String() string {
	switch k {
	case Disconnected:
		return "disconnected"
	case Shutdown:
		return "shutdown"
	}
	return fmt.Sprintf("MessageKind(%d)", uint8(k))
}

// Message is what a device finds in its inbox. Only the backplane makes
// messages: the fields are read through methods, and there is no way to put
// a forged Disconnected into an inbox. The zero Message is not a message;
// its Kind is 0.
type Message struct {
	src   *device // the device that disconnected, for Disconnected
	fault *Fault  // its fault; a shutdown request's marker for Shutdown
}

// faultShutdown marks a Fault that stands for a Shutdown request in
// Message.fault, with the requester in Fault.Device. Such a Fault is never
// handed out. Keeping the request in the fault field keeps a Message at two
// words; only a request from a device to an idle device allocates one.
const faultShutdown FaultKind = 0xff

// shutdownMark is the Shutdown request from outside any device.
var shutdownMark = &Fault{Kind: faultShutdown}

// shutdownMessage returns the Shutdown request from the device from.
func shutdownMessage(from DeviceID) Message {
	if from.IsZero() {
		return Message{fault: shutdownMark}
	}
	return Message{fault: &Fault{Kind: faultShutdown, Device: from}}
}

func (m Message) isShutdown() bool { return m.fault != nil && m.fault.Kind == faultShutdown }

// Kind says whether the message is Disconnected or Shutdown.
func (m Message) Kind() MessageKind {
	switch {
	case m.isShutdown():
		return Shutdown
	case m.src != nil:
		return Disconnected
	}
	return 0
}

// From is the device that disconnected (Disconnected) or that requested the
// shutdown (Shutdown; the zero DeviceID if it came from outside a device).
func (m Message) From() DeviceID {
	switch {
	case m.isShutdown():
		return m.fault.Device
	case m.src != nil:
		return m.src.id()
	}
	return DeviceID{}
}

// Fault is the fault the sender disconnected with, or nil when it
// disconnected cleanly or when the message is a Shutdown request. It is a
// *Fault, read beside Kind and From for its fields (m.Fault().Kind); to
// pass it on as an error, test it for nil first, since a nil *Fault in an
// error variable is not a nil error (Device.Fault, which answers with an
// error, has no such pitfall).
func (m Message) Fault() *Fault {
	if m.isShutdown() {
		return nil
	}
	return m.fault
}

// String describes the message, e.g. "disconnected #3 (task error: boom)".
func (m Message) String() string {
	switch m.Kind() {
	case Shutdown:
		return "shutdown requested" + by(m.From())
	case Disconnected:
		if m.fault != nil {
			return fmt.Sprintf("disconnected %v (%s)", m.From(), m.fault.describe())
		}
		return fmt.Sprintf("disconnected %v (clean)", m.From())
	}
	return "<no message>"
}

// The inbox is FIFO, unbounded and never drops (rule 10). The oldest
// pending message lives in the device itself (slot), so the common case of
// one pending notification allocates nothing and stays on the device's
// first cache line; the messages after it go to a queue made for the
// second one. The slot is empty only when the queue is. All of these are
// called with d.mu held.

// queue holds the pending messages after a device's slot, oldest first.
type queue struct {
	buf  []Message
	head int // index of the oldest message in buf
}

func (d *device) pending() int {
	if d.slot == (Message{}) {
		return 0
	}
	return 1 + d.more.len()
}

func (d *device) push(m Message) {
	if d.slot == (Message{}) {
		d.slot = m
		return
	}
	q := d.more
	if q == nil {
		q = new(queue)
		d.more = q
	}
	q.push(m)
}

func (d *device) pop() (Message, bool) {
	m := d.slot
	if m == (Message{}) {
		return m, false
	}
	d.slot = d.more.take()
	return m, true
}

// removeDisconnected removes the queued Disconnected message from p, if
// any, and reports whether it found one.
func (d *device) removeDisconnected(p *device) bool {
	if d.slot == (Message{}) {
		return false
	}
	if d.slot.src == p {
		d.slot = d.more.take()
		return true
	}
	return d.more.remove(p)
}

func (q *queue) len() int {
	if q == nil {
		return 0
	}
	return len(q.buf) - q.head
}

func (q *queue) push(m Message) {
	if len(q.buf) == cap(q.buf) && q.head > 0 {
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}
	q.buf = append(q.buf, m)
}

// take removes and returns the oldest message, or the zero Message if q is
// empty or nil.
func (q *queue) take() Message {
	if q.len() == 0 {
		return Message{}
	}
	m := q.buf[q.head]
	q.buf[q.head] = Message{}
	q.head++
	if q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	}
	return m
}

// remove removes the Disconnected message from p, if queued.
func (q *queue) remove(p *device) bool {
	if q == nil {
		return false
	}
	for i := q.head; i < len(q.buf); i++ {
		if q.buf[i].src == p {
			copy(q.buf[i:], q.buf[i+1:])
			q.buf[len(q.buf)-1] = Message{}
			q.buf = q.buf[:len(q.buf)-1]
			if q.head == len(q.buf) {
				q.buf, q.head = q.buf[:0], 0
			}
			return true
		}
	}
	return false
}
