package supervisor

// SetInPlace switches the in-place restart (see run.inPlace) on or off,
// for the tests. Call it before any supervisor runs.
func SetInPlace(on bool) { inPlaceOff = !on }

// InPlace reports whether the in-place restart is on.
func InPlace() bool { return !inPlaceOff }
