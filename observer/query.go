package observer

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/backplane-go/backplane"
)

// param is one allowed query parameter: a decimal integer in [lo, hi]
// stored in dst, or a device ID (see ParseID) stored in id.
type param struct {
	name   string
	lo, hi uint64
	dst    *uint64
	id     *backplane.DeviceID
}

// idParam is a parameter that names a device.
func idParam(name string, dst *backplane.DeviceID) param { return param{name: name, id: dst} }

// parseQuery parses raw strictly: only the given parameters, each at most
// once, each a plain decimal integer in range or a device ID.
func parseQuery(raw string, params ...param) error {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return fmt.Errorf("bad query string: %v", err)
	}
	for k, vs := range q {
		var p *param
		for i := range params {
			if params[i].name == k {
				p = &params[i]
			}
		}
		if p == nil {
			return fmt.Errorf("unknown parameter %q", k)
		}
		if len(vs) != 1 {
			return fmt.Errorf("parameter %q given %d times", k, len(vs))
		}
		if p.id != nil {
			id, err := ParseID(vs[0])
			if err != nil {
				return fmt.Errorf("parameter %q: want a device ID such as #7 or #7@db/5f3a9c, got %q", k, vs[0])
			}
			*p.id = id
			continue
		}
		n, err := parseUint(vs[0])
		if err != nil || n < p.lo || n > p.hi {
			return fmt.Errorf("parameter %q: want an integer from %d to %d, got %q", k, p.lo, p.hi, vs[0])
		}
		*p.dst = n
	}
	return nil
}

// parseUint accepts only plain decimal digits (no sign, no spaces).
func parseUint(s string) (uint64, error) {
	if s == "" || len(s) > 20 {
		return 0, errors.New("not a number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a number")
		}
	}
	return strconv.ParseUint(s, 10, 64)
}
