package handlers

import (
	"slices"
	"testing"
)

func TestDevice(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0":                                                    "Firefox on Linux",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0":     "Edge on Windows",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/604.1": "Safari on iPhone",
		"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36":                  "Chrome on Android",
		"curl/8.5.0": "curl",
		"":           "",
	} {
		if got := device(ua); got != want {
			t.Errorf("device(%q) = %q, want %q", ua, got, want)
		}
	}
}

func TestAxisNumber(t *testing.T) {
	for n, want := range map[int]string{0: "0", 950: "950", 2500: "2,500", 9999: "9,999", 10_000: "10k", 25_000: "25k",
		250_000: "250k", 1_000_000: "1M", 1_500_000: "1.5M", 2_500_000_000: "2.5G"} {
		if got := axisNumber(n); got != want {
			t.Errorf("axisNumber(%d) = %q, want %q", n, got, want)
		}
	}
}

// The pager's links: the first and last pages and two either side of the
// current one, a gap (0) between runs; the same as checking every page.
func TestPageWindow(t *testing.T) {
	every := func(current, total int) []int {
		if total <= 1 {
			return nil
		}
		var out []int
		last := 0
		for p := 1; p <= total; p++ {
			if p == 1 || p == total || (p >= current-2 && p <= current+2) {
				if last != 0 && p != last+1 {
					out = append(out, 0)
				}
				out = append(out, p)
				last = p
			}
		}
		return out
	}
	for total := 0; total <= 12; total++ {
		for current := -1; current <= total+2; current++ {
			if got, want := pageWindow(current, total), every(current, total); !slices.Equal(got, want) {
				t.Errorf("pageWindow(%d, %d) = %v, want %v", current, total, got, want)
			}
		}
	}
	if got := pageWindow(10000, 20000); !slices.Equal(got, []int{1, 0, 9998, 9999, 10000, 10001, 10002, 0, 20000}) {
		t.Errorf("the middle of 20,000 pages: %v", got)
	}
}
