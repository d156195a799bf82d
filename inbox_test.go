package backplane

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// checkInbox drives a device's inbox (push, pop, removeDisconnected) by
// ops, two bytes per step, and checks it against a slice after every step:
// same messages in the same order, the slot empty only when the queue is.
func checkInbox(t *testing.T, ops []byte) {
	t.Helper()
	senders := make([]*device, 5)
	for i := range senders {
		senders[i] = &device{n: uint64(i + 1)}
	}
	var d device
	var want []Message
	for step := 0; step+1 < len(ops); step += 2 {
		p := senders[int(ops[step+1])%len(senders)]
		switch ops[step] % 3 {
		case 0: // a notification from p, or a shutdown request
			m := Message{src: p, fault: dropFault}
			if ops[step+1]&0x80 != 0 {
				m = shutdownMessage(p.id())
			}
			d.push(m)
			want = append(want, m)
		case 1:
			m, ok := d.pop()
			if ok != (len(want) > 0) || ok && m != want[0] {
				t.Fatalf("step %d: pop = %v, %v; want %v", step/2, m, ok, want)
			}
			if ok {
				want = want[1:]
			}
		case 2: // UnlinkFlush of p: its first queued Disconnected goes
			i := slices.IndexFunc(want, func(m Message) bool { return m.src == p })
			if got := d.removeDisconnected(p); got != (i >= 0) {
				t.Fatalf("step %d: removeDisconnected = %v; want %v", step/2, got, i >= 0)
			}
			if i >= 0 {
				want = slices.Delete(want, i, i+1)
			}
		}
		if got := d.pending(); got != len(want) {
			t.Fatalf("step %d: pending = %d; want %d", step/2, got, len(want))
		}
		if (d.slot == Message{}) != (len(want) == 0) {
			t.Fatalf("step %d: slot %v with %d pending", step/2, d.slot, len(want))
		}
		if len(want) > 0 && d.slot != want[0] {
			t.Fatalf("step %d: slot %v; want the oldest, %v", step/2, d.slot, want[0])
		}
	}
	for len(want) > 0 {
		m, ok := d.pop()
		if !ok || m != want[0] {
			t.Fatalf("drain: pop = %v, %v; want %v", m, ok, want[0])
		}
		want = want[1:]
	}
	if m, ok := d.pop(); ok {
		t.Fatalf("drain: pop = %v from an empty inbox", m)
	}
}

// TestInboxModel runs random programs of pushes, pops and removals, biased
// towards pushes so that the queue behind the slot grows, wraps and
// compacts.
func TestInboxModel(t *testing.T) {
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 1))
		ops := make([]byte, 2*(1+rng.IntN(300)))
		for i := range ops {
			ops[i] = byte(rng.Uint32())
		}
		for i := 0; i < len(ops); i += 2 {
			if rng.IntN(2) == 0 {
				ops[i] = 0 // push
			}
		}
		checkInbox(t, ops)
	}
}

// FuzzInbox is TestInboxModel with the programs chosen by the fuzzer.
func FuzzInbox(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 0, 3, 1, 0, 2, 2, 0, 4, 1, 0, 1, 0, 1, 0})
	f.Add([]byte{0, 1, 2, 1, 0, 1, 0, 1, 2, 1, 1, 0})
	f.Fuzz(func(t *testing.T, ops []byte) { checkInbox(t, ops) })
}
