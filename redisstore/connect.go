package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Connect opens a client for a redis:// (or rediss:// for TLS, or unix://)
// URL, in redis.ParseURL's format, with options as query parameters:
//
//	redis://user:password@host:6379/0?dial_timeout=1s&max_retries=1
//
// and checks it with PING. The caller closes the client. For Redis Cluster
// or Sentinel, build a redis.ClusterClient or failover client instead and
// pass it to NewRevocations and NewQueue. Errors never contain the URL's
// password.
func Connect(ctx context.Context, rawURL string) (redis.UniversalClient, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, redactedError("redisstore: invalid Redis URL: ", err, rawURL)
	}
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, redactedError("redisstore: connecting to Redis: ", err, rawURL, opt.Password)
	}
	return rdb, nil
}

// redactedError wraps err, unless its text holds the URL or any of
// secrets: then it returns err's text with them replaced, not wrapped, so
// that no Unwrap can reach them. url.Parse, for one, quotes the whole URL.
func redactedError(prefix string, err error, rawURL string, secrets ...string) error {
	if u, perr := url.Parse(rawURL); perr == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			secrets = append(secrets, p, url.PathEscape(p), url.QueryEscape(p))
		}
	}
	secrets = append(secrets, rawURL)
	msg := err.Error()
	leaks := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg, leaks = strings.ReplaceAll(msg, s, "[redacted]"), true
		}
	}
	// A URL that does not parse may hold a password the parser could not
	// find; its error text is not used then.
	var ue *url.Error
	if errors.As(err, &ue) {
		return errors.New(prefix + "the URL does not parse (" + redactOp(ue) + ")")
	}
	if leaks {
		return errors.New(prefix + msg)
	}
	return fmt.Errorf("%s%w", prefix, err)
}

// redactOp says what url.Parse disliked, without any part of the URL.
func redactOp(ue *url.Error) string {
	switch {
	case strings.Contains(ue.Err.Error(), "escape"):
		return "bad percent-escape"
	case strings.Contains(ue.Err.Error(), "port"):
		return "bad port"
	case strings.Contains(ue.Err.Error(), "control character"):
		return "control character"
	}
	return "malformed"
}
