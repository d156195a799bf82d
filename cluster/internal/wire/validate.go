package wire

import "fmt"

// field is a bit of the presence masks, the presence mask in the low
// byte and the extension mask in the high byte: one optional field of a
// Frame.
type field uint16

const (
	fieldTarget field = 1 << iota
	fieldSource
	fieldRef
	fieldName
	fieldReason
	fieldFault
	fieldArg
	fieldMode
	fieldDowns // the first of the extension mask

	fieldsKnown = 1<<iota - 1
)

var fieldNames = [...]string{"Target", "Source", "Ref", "Name", "Reason", "Fault", "Arg", "Mode", "Downs"}

// String names the first field in the set, for error messages.
func (m field) String() string {
	for i, name := range fieldNames {
		if m&(1<<i) != 0 {
			return name
		}
	}
	return "none"
}

// Fault flags: which optional parts of a fault follow.
const (
	faultText  = 0x01
	faultStack = 0x02

	faultFlagsKnown = faultText | faultStack
)

// modeBoth is the largest link mode: Monitor (1) and Notify (2).
const modeBoth = 3

// rule is what a kind of frame may carry.
type rule struct {
	allowed  field // optional fields the kind may carry
	required field // of those, the ones it must carry
	anyInc   bool  // To.Inc may be 0
}

var rules = [...]rule{
	KindHello:       {anyInc: true},
	KindHeartbeat:   {},
	KindBye:         {allowed: fieldReason},
	KindWatch:       {allowed: fieldTarget | fieldSource, required: fieldTarget},
	KindDown:        {allowed: fieldSource | fieldFault | fieldReason | fieldDowns, required: fieldSource},
	KindLink:        {allowed: fieldTarget | fieldSource, required: fieldTarget | fieldSource},
	KindShutdown:    {allowed: fieldTarget | fieldSource, required: fieldTarget},
	KindKill:        {allowed: fieldTarget | fieldSource | fieldReason, required: fieldTarget},
	KindLookup:      {allowed: fieldRef | fieldName, required: fieldRef | fieldName, anyInc: true},
	KindLookupReply: {allowed: fieldRef | fieldSource, required: fieldRef},
	KindUnlink:      {allowed: fieldTarget | fieldSource, required: fieldTarget | fieldSource},
	KindSpawn:       {allowed: fieldRef | fieldName | fieldSource | fieldMode | fieldArg, required: fieldRef | fieldName | fieldSource | fieldMode},
	KindSpawnReply:  {allowed: fieldRef | fieldSource | fieldReason, required: fieldRef},
}

// present returns the presence mask of f: the optional fields that are not
// zero.
func (f *Frame) present() field {
	var m field
	if f.Target != 0 {
		m |= fieldTarget
	}
	if !f.Source.IsZero() {
		m |= fieldSource
	}
	if f.Ref != 0 {
		m |= fieldRef
	}
	if f.Name != "" {
		m |= fieldName
	}
	if f.Reason != "" {
		m |= fieldReason
	}
	if f.Fault != nil {
		m |= fieldFault
	}
	if len(f.Arg) != 0 {
		m |= fieldArg
	}
	if f.Mode != 0 {
		m |= fieldMode
	}
	if len(f.Downs) != 0 {
		m |= fieldDowns
	}
	return m
}

// validate checks f against the rules of its kind and the size limits. It
// returns the presence mask of f.
func validate(f *Frame) (field, error) {
	if !f.Kind.valid() {
		return 0, fmt.Errorf("%w: unknown kind %d", ErrMalformed, uint8(f.Kind))
	}
	r := rules[f.Kind]
	if err := checkNode("From", f.From, false); err != nil {
		return 0, err
	}
	if err := checkNode("To", f.To, r.anyInc); err != nil {
		return 0, err
	}
	m := f.present()
	if extra := m &^ r.allowed; extra != 0 {
		return 0, fmt.Errorf("%w: %v frame with %v", ErrMalformed, f.Kind, extra)
	}
	if m&fieldDowns != 0 {
		// A Down of several devices: Downs stands in for Source, and
		// each entry has its own Fault.
		if extra := m & (fieldSource | fieldFault | fieldReason); extra != 0 {
			return 0, fmt.Errorf("%w: %v frame with Downs and %v", ErrMalformed, f.Kind, extra)
		}
		if err := checkDowns(f.Downs); err != nil {
			return 0, err
		}
		return m, nil
	}
	if missing := r.required &^ m; missing != 0 {
		return 0, fmt.Errorf("%w: %v frame without %v", ErrMalformed, f.Kind, missing)
	}
	if m&fieldSource != 0 {
		if err := checkDevice("Source", f.Source); err != nil {
			return 0, err
		}
	}
	if len(f.Name) > MaxNameLen {
		return 0, fmt.Errorf("%w: Name is %d bytes, over %d", ErrTooLarge, len(f.Name), MaxNameLen)
	}
	if len(f.Reason) > MaxTextLen {
		return 0, fmt.Errorf("%w: Reason is %d bytes, over %d", ErrTooLarge, len(f.Reason), MaxTextLen)
	}
	if len(f.Arg) > MaxArgLen {
		return 0, fmt.Errorf("%w: Arg is %d bytes, over %d", ErrTooLarge, len(f.Arg), MaxArgLen)
	}
	if f.Mode > modeBoth {
		return 0, fmt.Errorf("%w: link mode %d", ErrMalformed, f.Mode)
	}
	if f.Kind == KindSpawnReply && m&(fieldSource|fieldReason) == fieldSource|fieldReason {
		return 0, fmt.Errorf("%w: %v frame with both Source and Reason", ErrMalformed, f.Kind)
	}
	if f.Kind == KindSpawnReply && m&(fieldSource|fieldReason) == 0 {
		return 0, fmt.Errorf("%w: %v frame without Source or Reason", ErrMalformed, f.Kind)
	}
	if f.Fault != nil {
		if err := checkFault(f.Fault, true); err != nil {
			return 0, err
		}
	}
	return m, nil
}

// checkDowns checks the entries of Frame.Downs.
func checkDowns(ds []Down) error {
	if len(ds) > MaxDowns {
		return fmt.Errorf("%w: %d Downs, over %d", ErrTooLarge, len(ds), MaxDowns)
	}
	for i := range ds {
		if ds[i].Seq == 0 {
			return fmt.Errorf("%w: Downs[%d] has no seq", ErrMalformed, i)
		}
		if ds[i].Fault != nil && (i == 0 || ds[i].Fault != ds[i-1].Fault) {
			if err := checkFault(ds[i].Fault, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkNode checks that n has a name within limits and, unless anyInc, an
// incarnation.
func checkNode(what string, n Node, anyInc bool) error {
	switch {
	case n.Name == "":
		return fmt.Errorf("%w: %s has no name", ErrMalformed, what)
	case len(n.Name) > MaxNameLen:
		return fmt.Errorf("%w: %s name is %d bytes, over %d", ErrTooLarge, what, len(n.Name), MaxNameLen)
	case n.Inc == 0 && !anyInc:
		return fmt.Errorf("%w: %s has no incarnation", ErrMalformed, what)
	}
	return nil
}

// checkDevice checks that d is fully set.
func checkDevice(what string, d Device) error {
	if err := checkNode(what, d.Node, false); err != nil {
		return err
	}
	if d.Seq == 0 {
		return fmt.Errorf("%w: %s has no seq", ErrMalformed, what)
	}
	return nil
}

// checkFault checks ft; a cascade is allowed only if cascade is true, so a
// cause cannot be one.
func checkFault(ft *Fault, cascade bool) error {
	if ft.Kind < faultDrop || ft.Kind > faultUnreachable {
		return fmt.Errorf("%w: unknown fault kind %d", ErrMalformed, ft.Kind)
	}
	if len(ft.Text) > MaxTextLen {
		return fmt.Errorf("%w: fault text is %d bytes, over %d", ErrTooLarge, len(ft.Text), MaxTextLen)
	}
	if len(ft.Stack) > MaxStackLen {
		return fmt.Errorf("%w: fault stack is %d bytes, over %d", ErrTooLarge, len(ft.Stack), MaxStackLen)
	}
	if ft.Kind != faultCascade {
		if !ft.Device.IsZero() || !ft.Root.IsZero() || ft.Cause != nil {
			return fmt.Errorf("%w: fault of kind %d with cascade fields", ErrMalformed, ft.Kind)
		}
		return nil
	}
	if !cascade {
		return fmt.Errorf("%w: cascade caused by a cascade", ErrMalformed)
	}
	if err := checkDevice("fault device", ft.Device); err != nil {
		return err
	}
	if err := checkDevice("fault root", ft.Root); err != nil {
		return err
	}
	if ft.Cause == nil {
		return fmt.Errorf("%w: cascade without a cause", ErrMalformed)
	}
	return checkFault(ft.Cause, false)
}
