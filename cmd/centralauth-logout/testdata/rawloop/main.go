// Command rawloop is BenchmarkCommand's baseline: the same tokens posted
// by a bare http.Client from 32 goroutines, as its own process, like the
// command it is compared with. It prints how many were answered 200.
package main

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

func main() {
	base := os.Getenv("CENTRALAUTH_BASE_URL")
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(os.Getenv("CENTRALAUTH_CLIENT_ID")+":"+os.Getenv("CENTRALAUTH_CLIENT_SECRET")))
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	work := make(chan string, 32)
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for tok := range work {
				req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/logout", strings.NewReader(tok))
				req.Header.Set("Authorization", auth)
				req.Header.Set("Content-Type", "text/plain")
				resp, err := hc.Do(req)
				if err != nil {
					continue
				}
				if resp.StatusCode == http.StatusOK {
					ok.Add(1)
				}
				resp.Body.Close()
			}
		})
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 16<<10), 16<<10)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			work <- t
		}
	}
	close(work)
	wg.Wait()
	fmt.Printf("%d ended\n", ok.Load())
}
