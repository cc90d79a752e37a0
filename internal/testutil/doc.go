// Package testutil holds the repository's own test helpers: Clock, a fake
// clock whose Sleep returns at once, for testing waits without waiting
// where testing/synctest cannot reach (a real loopback connection);
// Buffer, which collects log output from many goroutines; and WaitFor,
// which waits on a condition instead of sleeping. The fake CentralAuth is
// package centralauthtest, which users can import too.
package testutil
