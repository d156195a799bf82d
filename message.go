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
	kind  MessageKind
	from  DeviceID
	fault *Fault
}

// Kind says whether the message is Disconnected or Shutdown.
func (m Message) Kind() MessageKind { return m.kind }

// From is the device that disconnected (Disconnected) or that requested the
// shutdown (Shutdown; the zero DeviceID if it came from outside a device).
func (m Message) From() DeviceID { return m.from }

// Fault is the fault the sender disconnected with, or nil when it
// disconnected cleanly or when the message is a Shutdown request.
func (m Message) Fault() *Fault { return m.fault }

// String describes the message, e.g. "disconnected #3 (task error: boom)".
func (m Message) String() string {
	switch {
	case m.kind == Disconnected && m.fault != nil:
		return fmt.Sprintf("disconnected %v (%s)", m.from, m.fault.describe())
	case m.kind == Disconnected:
		return fmt.Sprintf("disconnected %v (clean)", m.from)
	case m.kind == Shutdown:
		return fmt.Sprintf("shutdown requested by %v", m.from)
	}
	return "<no message>"
}

// queue is a device's inbox: FIFO, unbounded, never dropping. The first
// message lives in the device itself (slot), so the common case of one
// pending notification allocates nothing.
type queue struct {
	buf  []Message
	head int
	slot [1]Message
}

func (q *queue) len() int { return len(q.buf) - q.head }

func (q *queue) push(m Message) {
	if q.buf == nil {
		q.buf = q.slot[:0]
	}
	if len(q.buf) == cap(q.buf) && q.head > 0 {
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}
	q.buf = append(q.buf, m)
}

func (q *queue) pop() (Message, bool) {
	if q.head >= len(q.buf) {
		return Message{}, false
	}
	m := q.buf[q.head]
	q.buf[q.head] = Message{}
	q.head++
	if q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	}
	return m, true
}

// removeDisconnected removes the queued Disconnected message from id, if
// any, and reports whether it found one.
func (q *queue) removeDisconnected(id DeviceID) bool {
	for i := q.head; i < len(q.buf); i++ {
		if q.buf[i].kind == Disconnected && q.buf[i].from == id {
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
