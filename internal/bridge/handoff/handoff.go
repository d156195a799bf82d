// Package handoff is where the core leaves its plumbing for package bridge.
//
// Package bridge names the core's types in its signatures, so it imports
// the core, and the core cannot import it back. The core imports this
// package instead, which imports nothing, and stores in Core, while it is
// initialised, a value whose methods are the plumbing; package bridge,
// initialised after the core because it imports it, reads Core once and
// asserts it to the interface it declares. Nothing else reads or writes
// Core.
package handoff

// Core is set by the core package's initialisation, before any package that
// imports the core is initialised, and never changed afterwards.
var Core any
