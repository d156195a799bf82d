package transport

// Subjects: frames from node F to node T are published on
// "<cluster>.node.<T>.<F>", names written as tokens: a node name may hold
// '.', which separates subject tokens, so it is written as '~', which no
// name holds. Each node subscribes to "<cluster>.node.<self>.*".

// token returns name as one subject token.
func token(name string) string {
	for i := 0; i < len(name); i++ {
		if name[i] == '.' {
			b := []byte(name)
			for j := i; j < len(b); j++ {
				if b[j] == '.' {
					b[j] = '~'
				}
			}
			return string(b)
		}
	}
	return name
}

// subjectTo returns the subject of frames from this node to node name.
func (t *Transport) subjectTo(name string) string {
	return t.prefix + token(name) + "." + token(t.self.Name)
}

// senderIs reports whether tok, the sender token of a subject, is the token
// of name, a valid node name.
func senderIs(tok string, name []byte) bool {
	if len(tok) != len(name) || len(name) == 0 || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '.':
			c = '~'
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
		if tok[i] != c {
			return false
		}
	}
	return true
}
