package redisstore

// Seal seals token for the entry id under key, as a Queue with that key
// would, so that tests can plant entries sealed under another key.
func Seal(key []byte, id, token string) ([]byte, error) {
	s, err := newSealer(key)
	if err != nil {
		return nil, err
	}
	return s.seal(id, token), nil
}
