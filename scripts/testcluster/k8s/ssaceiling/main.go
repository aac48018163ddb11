// ssa-ceiling measures how fast an API server takes server-side applies
// from a tight client (client-go, no client rate limit), two ways; it prints
// one JSON line. gen's apply benchmark (benches/cluster_apply.py) compares
// gen with both.
//
// Default: WORKERS goroutines each apply a trivial ConfigMap of their own (a
// new value each time, so every request is a real write) as fast as the
// server answers, for SECONDS seconds: the requests per second the server
// sustains for the cheapest write there is.
//
// -manifests DIR: every object of the YAML files under DIR (gen build's
// out/manifests) applied once, the Namespaces first, then all the others at
// once in no order, WORKERS at a time: the fastest any client could put
// those same objects on this server.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file")
	namespace := flag.String("namespace", "default", "namespace of the ConfigMaps")
	workers := flag.Int("workers", 16, "concurrent requests")
	seconds := flag.Float64("seconds", 10, "how long to measure")
	manifests := flag.String("manifests", "", "apply the objects of the YAML files under this folder once")
	flag.Parse()
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fail(err)
	}
	cfg.QPS = -1 // no client-side rate limit: the server is what is measured
	cfg.UserAgent = "ssa-ceiling"
	var out map[string]any
	if *manifests != "" {
		out, err = objects(cfg, *manifests, *workers)
	} else {
		out, err = configMaps(cfg, *namespace, *workers, *seconds)
	}
	if out != nil {
		line, _ := json.Marshal(out)
		fmt.Println(string(line))
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(2)
}

func configMaps(cfg *rest.Config, namespace string, workers int, seconds float64) (map[string]any, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	var done, failed atomic.Int64
	deadline := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			name := fmt.Sprintf("ssa-ceiling-%d", w)
			for i := 0; time.Now().Before(deadline); i++ {
				body := fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q},"data":{"n":"%d"}}`, name, i)
				_, err := client.CoreV1().ConfigMaps(namespace).Patch(context.Background(), name,
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
	out := map[string]any{
		"requests": done.Load(), "failed": failed.Load(), "seconds": elapsed,
		"workers": workers, "per_second": float64(done.Load()) / elapsed,
	}
	if failed.Load() > 0 {
		return out, fmt.Errorf("%d requests failed", failed.Load())
	}
	return out, nil
}

// read returns every object of the .yaml files under dir, in path order.
func read(dir string) ([]*unstructured.Unstructured, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var objs []*unstructured.Unstructured
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(f))
		for {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			o := &unstructured.Unstructured{}
			if err := utilyaml.Unmarshal(doc, &o.Object); err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			if len(o.Object) > 0 {
				objs = append(objs, o)
			}
		}
		f.Close()
	}
	return objs, nil
}

func objects(cfg *rest.Config, dir string, workers int) (map[string]any, error) {
	objs, err := read(dir)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	// The mappings are resolved before the clock starts: discovery is not
	// what is measured.
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	mappings := map[string]*meta.RESTMapping{}
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		if _, ok := mappings[gvk.String()]; !ok {
			m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				return nil, err
			}
			mappings[gvk.String()] = m
		}
	}
	apply := func(o *unstructured.Unstructured) error {
		gvk := o.GroupVersionKind()
		m := mappings[gvk.String()]
		body, err := json.Marshal(o.Object)
		if err != nil {
			return err
		}
		var r dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if ns := o.GetNamespace(); ns != "" {
			r = dyn.Resource(m.Resource).Namespace(ns)
		}
		_, err = r.Patch(context.Background(), o.GetName(), types.ApplyPatchType, body,
			metav1.PatchOptions{FieldManager: "ssa-ceiling"})
		if err != nil {
			return fmt.Errorf("%s %s/%s: %w", gvk.Kind, o.GetNamespace(), o.GetName(), err)
		}
		return nil
	}
	var namespaces, rest []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			namespaces = append(namespaces, o)
		} else {
			rest = append(rest, o)
		}
	}
	start := time.Now()
	if err := each(namespaces, workers, apply); err != nil {
		return nil, err
	}
	if err := each(rest, workers, apply); err != nil {
		return nil, err
	}
	elapsed := time.Since(start).Seconds()
	return map[string]any{
		"requests": len(objs), "seconds": elapsed, "workers": workers,
		"per_second": float64(len(objs)) / elapsed,
	}, nil
}

// each runs f on every object, workers at a time; the first error wins.
func each(objs []*unstructured.Unstructured, workers int, f func(*unstructured.Unstructured) error) error {
	next := make(chan *unstructured.Unstructured)
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range next {
				if err := f(o); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for _, o := range objs {
		next <- o
	}
	close(next)
	wg.Wait()
	return first
}
