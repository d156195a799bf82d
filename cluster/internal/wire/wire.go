// Package wire is the binary format of the frames that nodes exchange to
// link devices across processes.
//
// Every frame has exactly one encoding: Decode accepts only what Append
// produces, so decoding then re-encoding an accepted frame gives back the
// same bytes. A frame is laid out as follows.
//
//	offset  size     field
//	0       2        magic 'B' 'P'
//	2       1        Version
//	3       1        Kind
//	4       1        presence mask: which optional fields follow
//	5       1        extension mask: which optional fields of Version 2
//	                 follow the first eight
//	6       node     From
//	        node     To
//	        uvarint  Epoch
//	        uvarint  Seq
//	        uvarint  Ack
//	        uvarint  Target  if mask&0x01
//	        device   Source  if mask&0x02
//	        uvarint  Ref     if mask&0x04
//	        string   Name    if mask&0x08
//	        string   Reason  if mask&0x10
//	        fault    Fault   if mask&0x20
//	        bytes    Arg     if mask&0x40
//	        1 byte   Mode    if mask&0x80
//	        downs    Downs   if ext&0x01
//
// The extension mask has seven bits left for new fields; a bit this
// package does not know is rejected. A field is present exactly when it is
// not zero (0, "", the zero Device, a nil Fault), so a present field never
// holds a zero value. The frame ends after its last field: there are no
// trailing bytes.
//
// The compound fields are
//
//	uvarint  an unsigned integer as encoding/binary writes it, in its
//	         shortest form (overlong encodings are rejected)
//	string   uvarint length, then that many bytes
//	bytes    as string, of 1..MaxArgLen bytes
//	node     string Name (1..MaxNameLen bytes), uvarint Inc
//	device   node Node, uvarint Seq (Inc and Seq not 0)
//	fault    1 byte Kind (1..6), 1 byte flags, then
//	         string Text   if flags&0x01 (never empty)
//	         string Stack  if flags&0x02 (never empty)
//	         and, for a cascade only:
//	         device Device, device Root, fault Cause (not a cascade)
//	downs    uvarint count (1..MaxDowns), then count times:
//	         uvarint Seq (not 0), then 1 byte 0 for a nil Fault,
//	         1 byte 0xff for a Fault equal to the entry before's (which
//	         is not nil), or the fault (whose Kind byte is never 0 nor
//	         0xff), never equal to the entry before's
//
// Which optional fields a frame may and must carry depends on its Kind; the
// rules are documented on each Kind and enforced by both Append and Decode.
// Epoch, Seq and Ack belong to the transport and are allowed on every kind.
//
// Decode never panics, checks every length against the remaining input
// before allocating, and allocates O(len(b)). It does not retain b.
package wire

import (
	"errors"
	"fmt"
)

// Version is the format version, the first byte after the magic. Decode
// rejects frames of any other version with ErrVersion. Version 2 added the
// extension mask and Frame.Downs; nodes of Version 1 and 2 cannot talk to
// each other (their frames are rejected, so no session opens).
const Version uint8 = 2

// Limits of the format. Append and Decode reject frames and fields that
// exceed them with ErrTooLarge.
const (
	// MaxFrameSize is the largest encoded frame, in bytes.
	MaxFrameSize = 1 << 20
	// MaxNameLen is the longest node name and lookup name, in bytes.
	MaxNameLen = 255
	// MaxTextLen is the longest Fault.Text and Frame.Reason, in bytes.
	MaxTextLen = 64 << 10
	// MaxStackLen is the longest Fault.Stack, in bytes.
	MaxStackLen = 64 << 10
	// MaxArgLen is the longest Frame.Arg, in bytes.
	MaxArgLen = 512 << 10
	// MaxDowns is the most entries of Frame.Downs. The frame must still fit
	// in MaxFrameSize.
	MaxDowns = 4096
)

// magic opens every frame.
const magic0, magic1 = 'B', 'P'

// Errors returned by Append and Decode wrap one of these, with context;
// test for them with errors.Is.
var (
	// ErrMalformed reports a frame that is not a valid encoding: truncated,
	// a bad varint or length, an unknown kind, trailing bytes, or fields
	// that its kind does not allow.
	ErrMalformed = errors.New("wire: malformed frame")
	// ErrTooLarge reports a frame or a field over its size limit.
	ErrTooLarge = errors.New("wire: frame too large")
	// ErrVersion reports a frame of a version this package does not speak.
	ErrVersion = errors.New("wire: unsupported version")
)

// Node is one incarnation of a node: its name and a number that tells its
// successive runs apart. Name is 1..MaxNameLen bytes; Inc is not 0 for a
// real node.
type Node struct {
	Name string
	Inc  uint64
}

// IsZero reports whether n is the zero Node.
func (n Node) IsZero() bool { return n == Node{} }

// String returns "name/inc".
func (n Node) String() string { return fmt.Sprintf("%s/%d", n.Name, n.Inc) }

// Device names a device on a node incarnation. Seq is not 0 when the
// Device is set.
type Device struct {
	Node Node
	Seq  uint64
}

// IsZero reports whether d is the zero Device.
func (d Device) IsZero() bool { return d == Device{} }

// String returns "name/inc#seq".
func (d Device) String() string { return fmt.Sprintf("%v#%d", d.Node, d.Seq) }

// Kind says what a frame is for. Each kind lists the optional fields it
// carries; any other optional field (Target, Source, Ref, Name, Reason,
// Fault) must be zero. From must be a real node (a name and an Inc) and
// To must have a name and, unless the kind says otherwise, an Inc.
type Kind uint8

// The kinds of frame.
const (
	// KindHello opens a stream. To.Inc may be 0: the sender may not know
	// the receiver's incarnation yet. No optional fields.
	KindHello Kind = iota + 1
	// KindHeartbeat keeps a session alive. No optional fields.
	KindHeartbeat
	// KindBye ends a session. Reason is optional.
	KindBye
	// KindWatch asks To to report when device Target (a seq on To)
	// disconnects. Target is required; Source, the watching device, is
	// optional.
	KindWatch
	// KindDown reports that device Source (on From) disconnected. Source
	// is required; Fault is optional (nil means a clean disconnection);
	// Reason is optional (e.g. "no such device"). Or it reports that
	// several devices of From disconnected, in the order of Downs: then
	// Downs is required and Source, Fault and Reason must be zero. Either
	// way it is one frame of its stream.
	KindDown
	// KindLink makes device Target (a seq on To) watch device Source (on
	// any node): a link made on From whose watching side is on To. Target
	// and Source are required.
	KindLink
	// KindShutdown asks device Target (a seq on To) to shut down. Target
	// is required; Source, the asking device, is optional (zero for a
	// request from outside any device).
	KindShutdown
	// KindKill kills device Target (a seq on To). Target is required;
	// Source, the killing device, and Reason are optional.
	KindKill
	// KindLookup asks which device is registered under Name on To. Ref and
	// Name (1..MaxNameLen bytes) are required. To.Inc may be 0.
	KindLookup
	// KindLookupReply answers the KindLookup with the same Ref. Ref is
	// required; Source is the device found, zero if none.
	KindLookupReply
	// KindUnlink undoes a KindLink: device Target (a seq on To) stops
	// watching device Source. Target and Source are required.
	KindUnlink
	// KindSpawn asks To to start a task of the kind registered there
	// under Name, linked to device Source (on From) in Mode, seen from
	// Source. Ref, Name (1..MaxNameLen bytes), Source and Mode are
	// required; Arg, the task's argument, is optional.
	KindSpawn
	// KindSpawnReply answers the KindSpawn with the same Ref: Source is
	// the device started (on From), or Reason says why none was. Ref is
	// required, and exactly one of Source and Reason.
	KindSpawnReply
)

var kindNames = [...]string{
	KindHello:       "hello",
	KindHeartbeat:   "heartbeat",
	KindBye:         "bye",
	KindWatch:       "watch",
	KindDown:        "down",
	KindLink:        "link",
	KindShutdown:    "shutdown",
	KindKill:        "kill",
	KindLookup:      "lookup",
	KindLookupReply: "lookup-reply",
	KindUnlink:      "unlink",
	KindSpawn:       "spawn",
	KindSpawnReply:  "spawn-reply",
}

// String returns the kind's lower-case name, e.g. "lookup-reply".
func (k Kind) String() string {
	if k.valid() {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

func (k Kind) valid() bool { return k >= KindHello && k <= KindSpawnReply }

// Frame is one message between nodes. Which of the fields after Ack a
// frame carries depends on its Kind; see the Kind constants.
type Frame struct {
	Kind Kind
	// From is the sending node.
	From Node
	// To is the receiving node.
	To Node
	// Epoch is the stream epoch chosen by the sender.
	Epoch uint64
	// Seq is the frame's sequence number within its stream: 1, 2, 3, ...
	Seq uint64
	// Ack is the highest Seq received on the reverse stream, or 0.
	Ack uint64
	// Target is a device seq on To.
	Target uint64
	// Source is a device, usually the one the frame is about or from.
	Source Device
	// Fault is why Source disconnected, nil if it did so cleanly.
	Fault *Fault
	// Ref matches a reply to its request (KindLookup, KindSpawn).
	Ref uint64
	// Name is a registered name, for KindLookup, or a task kind, for
	// KindSpawn.
	Name string
	// Reason is a human-readable explanation, at most MaxTextLen bytes.
	Reason string
	// Arg is a task's argument, for KindSpawn, at most MaxArgLen bytes.
	// An empty Arg is not encoded, so it decodes as nil.
	Arg []byte
	// Mode is a link mode, for KindSpawn: 1 (Monitor), 2 (Notify) or 3
	// (both), as backplane.LinkMode.
	Mode uint8
	// Downs, for KindDown, are disconnections of devices of From, in the
	// order they happened: one frame that stands for len(Downs) Down
	// frames. At most MaxDowns; an empty Downs is not encoded, so it
	// decodes as nil. An entry whose fault is equal to the entry before's
	// takes one byte for it, and Decode gives the two one shared *Fault:
	// read, never write, a decoded frame's faults.
	Downs []Down
}

// Down is one disconnection in Frame.Downs: device Seq of the frame's
// From, and why it disconnected.
type Down struct {
	// Seq is the device's sequence number on From; never 0.
	Seq uint64
	// Fault is why the device disconnected, nil if it did so cleanly.
	Fault *Fault
}

// Fault mirrors a backplane.Fault on the wire. Kind holds a
// backplane.FaultKind: 1..6 for drop, error, panic, cascade, killed and
// unreachable; other values are rejected.
//
// Text and Stack are allowed on every kind. An empty Stack is not encoded,
// so it decodes as nil. Device, Root and Cause are required for a cascade
// and must be zero for every other kind.
type Fault struct {
	// Kind is the backplane.FaultKind.
	Kind uint8
	// Text is the error's message, or the panic value formatted; at most
	// MaxTextLen bytes.
	Text string
	// Stack is the panicking goroutine's stack; at most MaxStackLen bytes.
	Stack []byte
	// Device is, for a cascade, the device depended on.
	Device Device
	// Root is, for a cascade, the first device of the chain.
	Root Device
	// Cause is, for a cascade, the root device's fault, never itself a
	// cascade.
	Cause *Fault
}

// The backplane.FaultKind values a Fault may hold.
const (
	faultDrop uint8 = iota + 1
	faultError
	faultPanic
	faultCascade
	faultKilled
	faultUnreachable
)
