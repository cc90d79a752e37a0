package login

// The state cookie's layout, for the external tests: they read a login's
// verifier from the browser's cookie and forge cookies with it, without a
// copy of the format.

// DecodeStateCookie reads a state cookie's value as Callback does.
func DecodeStateCookie(v string) (state, verifier, returnTo string, started int64, err error) {
	p, err := decodePending(v)
	return p.state, p.verifier, p.returnTo, p.started, err
}

// EncodeStateCookie writes a state cookie's value as Login does.
func EncodeStateCookie(state, verifier, returnTo string, started int64) string {
	return pending{state: state, verifier: verifier, returnTo: returnTo, started: started}.encode()
}
