// ssa-ceiling measures how many server-side apply requests per second an
// API server sustains: WORKERS goroutines each apply a trivial ConfigMap of
// their own (a new value each time, so every request is a real write) as
// fast as the server answers, for SECONDS seconds. It prints one JSON line.
// gen's apply benchmark (benches/cluster_apply.py) compares gen's objects per
// second with this ceiling.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file")
	namespace := flag.String("namespace", "default", "namespace of the ConfigMaps")
	workers := flag.Int("workers", 16, "concurrent requests")
	seconds := flag.Float64("seconds", 10, "how long to measure")
	flag.Parse()
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cfg.QPS = -1 // no client-side rate limit: the server is what is measured
	cfg.UserAgent = "ssa-ceiling"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var done, failed atomic.Int64
	deadline := time.Now().Add(time.Duration(*seconds * float64(time.Second)))
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			name := fmt.Sprintf("ssa-ceiling-%d", w)
			for i := 0; time.Now().Before(deadline); i++ {
				body := fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q},"data":{"n":"%d"}}`, name, i)
				_, err := client.CoreV1().ConfigMaps(*namespace).Patch(context.Background(), name,
					types.ApplyPatchType, []byte(body), metav1.PatchOptions{FieldManager: "ssa-ceiling"})
				if err != nil {
					failed.Add(1)
					continue
				}
				done.Add(1)
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	out, _ := json.Marshal(map[string]any{
		"requests": done.Load(), "failed": failed.Load(), "seconds": elapsed,
		"workers": *workers, "per_second": float64(done.Load()) / elapsed,
	})
	fmt.Println(string(out))
	if failed.Load() > 0 {
		os.Exit(1)
	}
}
