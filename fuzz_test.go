package backplane

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
)

// FuzzProgram decodes an operation program from the input (three bytes an
// operation, see mtDecode), runs it in one goroutine, with nested managed
// tasks, and compares every result, every message and every link table
// with the reference model.
func FuzzProgram(f *testing.F) {
	for seed := range uint64(16) {
		f.Add(mtEncode(mtGen(mtRNG(seed), 40, false, 0)))
	}
	// A watcher, a managed chain and a shutdown, spelled out.
	f.Add(mtEncode([]mtOp{
		{kind: mtLink, a: 0, b: 1, mode: Monitor},
		{kind: mtLink, a: 1, b: 2, mode: Peer, via: 3},
		{kind: mtShutdown, a: 0, b: 1},
		{kind: mtManage, a: 2, arg: mtTaskCause, body: []mtOp{
			{kind: mtDisconnect, a: 3, arg: 1},
			{kind: mtManage, a: 1, arg: mtTaskOK},
		}},
		{kind: mtReceive, a: 0},
		{kind: mtUnlinkFlush, a: 0, b: 1, mode: Monitor},
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		prog, _ := mtDecode(data, 0)
		s := newMTSeq()
		if bad := s.run(prog); bad != "" {
			t.Fatalf("violation: %s\nprogram:\n%s", bad, mtProgString(prog))
		}
	})
}

// TestMTEncode checks that the seed corpus encoder is the decoder's inverse
// on programs without nested task bodies.
func TestMTEncode(t *testing.T) {
	for seed := range uint64(50) {
		prog := mtGen(mtRNG(seed), 30, false, 1)
		got, rest := mtDecode(mtEncode(prog), 0)
		if len(rest) != 0 || !reflect.DeepEqual(mtNormal(got), mtNormal(prog)) {
			t.Fatalf("seed %d: decode(encode(p)) differs:\n%s\nwant\n%s", seed, mtProgString(got), mtProgString(prog))
		}
	}
}

func mtNormal(p []mtOp) []mtOp {
	out := make([]mtOp, len(p))
	for i, op := range p {
		if op.kind != mtManage {
			op.part, op.body = false, nil
			if op.kind != mtDisconnect {
				op.arg = 0
			}
		}
		if len(op.body) == 0 {
			op.body = nil
		}
		out[i] = op
	}
	return out
}

// FuzzAPI calls every public entry point, in an order and with arguments
// chosen by the input, on nil and zero-value devices and lines, live and
// dead devices, nil contexts and tasks, bad modes, and repeatedly. Nothing
// may panic, and every error must be a documented one.
func FuzzAPI(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31})
	f.Add([]byte("\x05\x10\x15\x1a\x1f\x24\x29\x2e\x33\x38\x3d\x42\x47\x4c\x51\x56"))
	f.Add([]byte{255, 254, 253, 7, 7, 7, 3, 3, 3, 9, 9, 9, 1, 2, 1, 2})
	for seed := range uint64(8) {
		rng := mtRNG(seed)
		b := make([]byte, 64)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		mtFuzzAPI(t, data)
	})
}

// mtAPIState is what FuzzAPI works on: the targets a byte can name.
type mtAPIState struct {
	t     *testing.T
	devs  []*Device // nil, zero, live and dead devices
	group Group
}

func (s *mtAPIState) target(b byte) *Device { return s.devs[int(b)%len(s.devs)] }

func (s *mtAPIState) linkable(b byte) Linkable {
	d := s.target(b)
	switch b >> 6 {
	case 1:
		return d.Line()
	case 2:
		if d == nil {
			return nil
		}
	case 3:
		return Line{}
	}
	return d
}

func mtMode8(b byte) LinkMode { return LinkMode(b>>4) & 7 }

// valid reports whether d was made by New.
func mtValid(d *Device) bool { return d != nil && d.d != nil }

// want checks that err is nil or wraps one of the sentinels in the
// documented wrapper type.
func (s *mtAPIState) want(call string, err error, wrap string, allowed ...error) {
	s.t.Helper()
	if err == nil {
		return
	}
	ok := false
	for _, a := range allowed {
		ok = ok || errors.Is(err, a)
	}
	var le *LinkError
	var de *DeviceError
	switch {
	case !ok:
		s.t.Fatalf("%s: undocumented error %v (allowed %v)", call, err, allowed)
	case wrap == "link" && !errors.As(err, &le):
		s.t.Fatalf("%s: error %T, want *LinkError", call, err)
	case wrap == "device" && !errors.As(err, &de):
		s.t.Fatalf("%s: error %T, want *DeviceError", call, err)
	}
	_ = err.Error()
}

func mtFuzzAPI(t *testing.T, data []byte) {
	dead := New()
	dead.Disconnect(errors.New("dead"))
	live, other := New(), New()
	s := &mtAPIState{t: t, devs: []*Device{nil, {}, live, other, dead, New()}}
	defer func() {
		s.group.Wait()
		for _, d := range s.devs {
			d.Drop()
		}
	}()
	var ctxs = []context.Context{nil, context.Background(), mtCancelled}
	linkErrs := []error{ErrInvalid, ErrSelfLink, ErrDeviceDown, ErrLinkDown, ErrBadMode}
	for len(data) >= 2 {
		op, arg := data[0], data[1]
		data = data[2:]
		d := s.target(arg)
		o := s.linkable(arg>>3 ^ op)
		mode := mtMode8(arg)
		name := fmt.Sprintf("op %d arg %d", op%32, arg)
		switch op % 32 {
		case 0:
			s.devs = append(s.devs[:min(len(s.devs), 12)], New(WithName(name)))
		case 1:
			_, _, _, _ = d.ID(), d.Name(), d.Line(), d.Line().String()
			_ = d.ID().String() + d.Line().ID().String()
			_, _ = d.ID().IsZero(), d.ID().Seq()
		case 2:
			if d.Alive() != (mtValid(d) && d.Line().Alive()) {
				t.Fatalf("%s: Alive disagrees with Line().Alive()", name)
			}
		case 3:
			select {
			case <-d.Done():
				if d.Alive() {
					t.Fatalf("%s: Done closed on a live device", name)
				}
			default:
			}
			_ = d.Line().Done()
		case 4:
			if f := d.fault(); f != nil {
				_, _ = f.Root()
				_ = f.Error()
			}
		case 5:
			s.want(name+" Link", d.Link(o, mode), "link", linkErrs...)
		case 6:
			s.want(name+" Line.Link", d.Line().Link(o, mode), "link", linkErrs...)
		case 7:
			_, err := d.Unlink(o, mode)
			s.want(name+" Unlink", err, "link", ErrInvalid, ErrSelfLink, ErrBadMode)
		case 8:
			_, err := d.UnlinkFlush(o, mode)
			s.want(name+" UnlinkFlush", err, "link", ErrInvalid, ErrSelfLink, ErrBadMode)
		case 9:
			_, err := d.Line().Unlink(o, mode)
			s.want(name+" Line.Unlink", err, "link", ErrInvalid, ErrSelfLink, ErrBadMode)
		case 10:
			var e error
			if arg&1 == 1 {
				e = errors.New("fuzz")
			}
			if arg&2 == 2 {
				e = &Fault{Kind: FaultKind(arg >> 4)}
				if arg&4 == 4 {
					e = &Fault{Kind: FaultCascade, Device: d.ID(), Cause: d.fault()}
				}
			}
			alive := d.Alive()
			err := d.Disconnect(e)
			s.want(name+" Disconnect", err, "device", ErrInvalid, ErrDeviceDown, ErrBadFault)
			if !mtValid(d) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("%s: Disconnect on an invalid device: %v", name, err)
			}
			if errors.Is(err, ErrBadFault) && d.Alive() != alive {
				t.Fatalf("%s: a refused Disconnect changed the device (alive %v before, %v after)", name, alive, d.Alive())
			}
		case 11:
			d.Drop()
			if mtValid(d) && d.Alive() {
				t.Fatalf("%s: alive after Drop", name)
			}
		case 12:
			_ = d.Pending()
			if m, ok := d.TryReceive(); ok {
				_ = m.String() + m.Kind().String()
				_, _ = m.From(), m.Fault()
			}
		case 13:
			ctx := ctxs[2]
			if arg&1 == 1 {
				ctx = nil
			}
			_, err := d.Receive(ctx)
			if err != nil && !errors.Is(err, context.Canceled) {
				s.want(name+" Receive", err, "device", ErrInvalid, ErrDeviceDown, ErrNilArg)
			}
		case 14:
			select {
			case <-d.Ready():
			default:
			}
		case 15, 16:
			ctx := ctxs[int(arg>>2)%len(ctxs)]
			var task func(context.Context) error
			switch arg >> 5 & 3 {
			case 1:
				task = func(context.Context) error { return nil }
			case 2:
				task = func(context.Context) error { return errors.New("fuzz task") }
			case 3:
				task = func(context.Context) error { panic("fuzz panic") }
			}
			var err error
			if op%32 == 15 {
				err = d.Manage(ctx, task)
			} else {
				err = d.PartManage(ctx, task)
			}
			var c *Crash
			if !errors.As(err, &c) {
				s.want(name+" Manage", err, "device", ErrInvalid, ErrNilArg, ErrDeviceDown, ErrBusy)
			} else {
				_, _ = c.Error(), c.Unwrap()
			}
		case 17:
			ctx := ctxs[int(arg>>2)%len(ctxs)]
			var f func(context.Context) (int, error)
			switch arg >> 5 & 3 {
			case 1:
				f = func(context.Context) (int, error) { return 1, nil }
			case 2:
				f = func(context.Context) (int, error) { return 0, errors.New("fuzz watch") }
			case 3:
				f = func(context.Context) (int, error) { panic("fuzz watch panic") }
			}
			_, err := Watch(ctx, d, f)
			var c *Crash
			if !errors.As(err, &c) && (err == nil || err.Error() != "fuzz watch") {
				s.want(name+" Watch", err, "device", ErrInvalid, ErrNilArg, ErrDeviceDown, ErrBusy)
			}
		case 18:
			s.want(name+" Shutdown", d.Line().Shutdown(s.target(arg>>3).ID()), "link", ErrInvalid, ErrLinkDown)
		case 19:
			s.want(name+" Kill", d.Line().Kill(s.target(arg>>3).ID(), nil), "link", ErrInvalid, ErrLinkDown)
		case 20:
			ctx := ctxs[int(arg>>2)%len(ctxs)]
			var task func(context.Context) error
			if arg&0x80 != 0 {
				task = func(ctx context.Context) error { return context.Cause(ctx) }
			}
			l, err := s.group.Spawn(ctx, o, mode, task)
			var le *LinkError
			if err != nil && !errors.As(err, &le) {
				s.want(name+" Spawn", err, "device", ErrNilArg)
			} else {
				s.want(name+" Spawn", err, "link", linkErrs...)
			}
			if err == nil && l.IsZero() {
				t.Fatalf("%s: Spawn returned the zero Line", name)
			}
		case 21:
			var f *Fault
			if arg&1 == 1 {
				f = d.fault()
			}
			c := CascadeFault(d.ID(), f)
			if (c == nil) != (f == nil) {
				t.Fatalf("%s: CascadeFault(%v) = %v", name, f, c)
			}
			_, _ = c.Root()
			_, _, _ = c.Error(), c.Unwrap(), c.Is(f)
		case 22:
			var c *Crash
			var f *Fault
			_, _, _, _ = c.Error(), c.Unwrap(), f.Error(), f.Unwrap()
			_, _ = f.Root()
			_ = f.Is(nil)
			_ = ErrorFault(nil).Error()
		case 23:
			_ = LinkMode(arg).String() + MessageKind(arg).String() + FaultKind(arg).String() +
				CrashKind(arg).String() + EventKind(arg).String()
			_ = Event{Kind: EventKind(arg % 8), Fault: d.fault()}.String()
			_ = (&Crash{Kind: CrashKind(arg % 8)}).Error()
			_ = (&Fault{Kind: FaultKind(arg % 8)}).Error()
			_ = (&Fault{Kind: FaultCascade, Device: d.ID(), Cause: &Fault{Kind: FaultCascade}}).Error()
			_ = Message{}.String()
		case 24:
			l := d.Line()
			if l.IsZero() != !mtValid(d) {
				t.Fatalf("%s: IsZero %v for valid %v", name, l.IsZero(), mtValid(d))
			}
			if o != nil && (l == o.Line()) != (l.ID() == o.Line().ID()) {
				t.Fatalf("%s: Line equality disagrees with identity", name)
			}
		default:
			// Repeat the previous byte pair's call on the next target.
			if len(data) >= 2 && data[0]%32 < 25 {
				data = append([]byte{data[0], data[1] + 1}, data...)
			}
		}
	}
}
