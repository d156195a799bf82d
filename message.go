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
// disconnected cleanly or when the message is a Shutdown request.
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
		return fmt.Sprintf("shutdown requested by %v", m.From())
	case Disconnected:
		if m.fault != nil {
			return fmt.Sprintf("disconnected %v (%s)", m.From(), m.fault.describe())
		}
		return fmt.Sprintf("disconnected %v (clean)", m.From())
	}
	return "<no message>"
}

// The inbox is FIFO, unbounded and never drops (rule 10). Its fields live in
// the device (inbox, head, slot) to keep the device small; the first message
// goes in slot, so the common case of one pending notification allocates
// nothing. All of these are called with d.mu held.

func (d *device) pending() int { return len(d.inbox) - int(d.head) }

func (d *device) push(m Message) {
	if d.inbox == nil {
		d.inbox = d.slot[:0]
	}
	if len(d.inbox) == cap(d.inbox) && d.head > 0 {
		n := copy(d.inbox, d.inbox[d.head:])
		clear(d.inbox[n:])
		d.inbox, d.head = d.inbox[:n], 0
	}
	d.inbox = append(d.inbox, m)
}

func (d *device) pop() (Message, bool) {
	if int(d.head) >= len(d.inbox) {
		return Message{}, false
	}
	m := d.inbox[d.head]
	d.inbox[d.head] = Message{}
	d.head++
	if int(d.head) == len(d.inbox) {
		d.inbox, d.head = d.inbox[:0], 0
	}
	return m, true
}

// removeDisconnected removes the queued Disconnected message from p, if
// any, and reports whether it found one.
func (d *device) removeDisconnected(p *device) bool {
	for i := int(d.head); i < len(d.inbox); i++ {
		if m := d.inbox[i]; m.src == p {
			copy(d.inbox[i:], d.inbox[i+1:])
			d.inbox[len(d.inbox)-1] = Message{}
			d.inbox = d.inbox[:len(d.inbox)-1]
			if int(d.head) == len(d.inbox) {
				d.inbox, d.head = d.inbox[:0], 0
			}
			return true
		}
	}
	return false
}
