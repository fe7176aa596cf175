package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
)

// memoryDump asks Chromium's memory-infra for one detailed dump of every
// process and returns, per process id, the size in MB of each allocator
// (v8, partition_alloc, malloc, blink_gc, …) and of their first sub-levels.
func memoryDump(ctx context.Context) (map[int]map[string]float64, error) {
	var events []json.RawMessage // appended by the listener until done is closed
	done := make(chan struct{})
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err := chromedp.Listen(lctx, func(ev any) {
		switch e := ev.(type) {
		case *tracing.EventDataCollected:
			for _, v := range e.Value {
				events = append(events, json.RawMessage(v))
			}
		case *tracing.EventTracingComplete:
			close(done)
		}
	})
	if err != nil {
		return nil, err
	}
	cfg := &tracing.TraceConfig{
		IncludedCategories: []string{"disabled-by-default-memory-infra"},
		ExcludedCategories: []string{"*"},
		MemoryDumpConfig:   tracing.MemoryDumpConfig{"triggers": []any{}},
	}
	err = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, tracing.Start, tracing.StartParams{TraceConfig: cfg, TransferMode: tracing.StartTransferModeReportEvents}); err != nil {
			return err
		}
		r, err := cdp.Call(ctx, t, tracing.RequestMemoryDump, tracing.RequestMemoryDumpParams{LevelOfDetail: tracing.MemoryDumpLevelOfDetailDetailed})
		if err == nil && !r.Success {
			err = fmt.Errorf("the memory dump failed")
		}
		if _, err2 := cdp.Call(ctx, t, tracing.End, cdp.Empty{}); err == nil {
			err = err2
		}
		return err
	}))
	if err != nil {
		return nil, err
	}
	select {
	case <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	out := map[int]map[string]float64{}
	for _, raw := range events {
		var ev struct {
			Ph   string `json:"ph"`
			Pid  int    `json:"pid"`
			Args struct {
				Dumps struct {
					Allocators map[string]struct {
						Attrs map[string]struct {
							Value string `json:"value"`
						} `json:"attrs"`
					} `json:"allocators"`
				} `json:"dumps"`
			} `json:"args"`
		}
		if json.Unmarshal(raw, &ev) != nil || ev.Ph != "v" {
			continue
		}
		for name, a := range ev.Args.Dumps.Allocators {
			if strings.Count(name, "/") > 2 {
				continue
			}
			v, err := strconv.ParseUint(a.Attrs["size"].Value, 16, 64)
			if err != nil {
				continue
			}
			if out[ev.Pid] == nil {
				out[ev.Pid] = map[string]float64{}
			}
			out[ev.Pid][name] = float64(v) / (1 << 20)
		}
	}
	return out, nil
}

// dumpLine formats the named allocators' sizes.
func dumpLine(m map[string]float64, names ...string) string {
	var parts []string
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s %.1f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
