package console

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// The charts are SVG drawn here: nothing to load, nothing to run in the
// browser. Labels are escaped; sizes are in user units and scale with CSS.

func esc(s string) string { return template.HTMLEscapeString(s) }

// vbar is one column of a column chart.
type vbar struct {
	Label string
	Value int64
}

// columns draws a column chart (the lag histograms).
func columns(title string, bars []vbar) template.HTML {
	const w, h, left, bottom, pad = 640.0, 220.0, 48.0, 28.0, 12.0
	var top int64 = 1
	for _, b := range bars {
		top = max64(top, b.Value)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, w, h, esc(title))
	axes(&sb, w, h, left, bottom, pad, top)
	bw := (w - left - 8) / float64(len(bars))
	for i, b := range bars {
		bh := (h - bottom - pad) * float64(b.Value) / float64(top)
		x := left + float64(i)*bw
		fmt.Fprintf(&sb, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %d</title></rect>`,
			x+1, h-bottom-bh, math.Max(bw-2, 1), bh, esc(b.Label), b.Value)
		if len(bars) <= 12 || i%2 == 0 && i != len(bars)-2 || i == len(bars)-1 {
			fmt.Fprintf(&sb, `<text class="tick" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x+bw/2, h-bottom+14, esc(b.Label))
		}
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

// series is one line of a line chart.
type series struct {
	Name   string
	Class  string
	Values []int64
}

// lines draws a line chart over labelled x points (the timeline).
func lines(title string, labels []string, ss ...series) template.HTML {
	const w, h, left, bottom, pad = 640.0, 220.0, 48.0, 28.0, 12.0
	var top int64 = 1
	for _, s := range ss {
		for _, v := range s.Values {
			top = max64(top, v)
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, w, h, esc(title))
	axes(&sb, w, h, left, bottom, pad, top)
	n := len(labels)
	step := (w - left - 8) / math.Max(float64(n-1), 1)
	for _, s := range ss {
		var pts []string
		for i, v := range s.Values {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", left+float64(i)*step, h-bottom-(h-bottom-pad)*float64(v)/float64(top)))
		}
		fmt.Fprintf(&sb, `<polyline class="%s" fill="none" points="%s"><title>%s</title></polyline>`, esc(s.Class), strings.Join(pts, " "), esc(s.Name))
	}
	every := max(1, n/8)
	for i := 0; i < n; i += every {
		fmt.Fprintf(&sb, `<text class="tick" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, left+float64(i)*step, h-bottom+14, esc(labels[i]))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

// hbar is one bar of a bar list.
type hbar struct {
	Label string
	Value float64 // bar length, relative to the largest
	Text  string  // what the bar says
}

// bars draws a horizontal bar list (top regions, reasons, funnels).
func bars(title string, items []hbar) template.HTML {
	const w, row, labelW = 680.0, 22.0, 300.0
	h := row*float64(len(items)) + 4
	max := 0.0
	for _, it := range items {
		max = math.Max(max, it.Value)
	}
	if max == 0 {
		max = 1
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart bars" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, w, h, esc(title))
	for i, it := range items {
		y := float64(i)*row + 2
		bw := (w - labelW - 80) * it.Value / max
		fmt.Fprintf(&sb, `<text class="label" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, labelW-6, y+15, esc(truncate(it.Label, 34)))
		fmt.Fprintf(&sb, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s</title></rect>`, labelW, y+3, math.Max(bw, 1), row-6, esc(it.Label), esc(it.Text))
		fmt.Fprintf(&sb, `<text class="value" x="%.1f" y="%.1f">%s</text>`, labelW+bw+6, y+15, esc(it.Text))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

func axes(sb *strings.Builder, w, h, left, bottom, top float64, max int64) {
	fmt.Fprintf(sb, `<line class="axis" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, left, h-bottom, w-4, h-bottom)
	fmt.Fprintf(sb, `<line class="axis" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, left, top, left, h-bottom)
	fmt.Fprintf(sb, `<text class="tick" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, left-4, top+8, esc(num(max)))
	fmt.Fprintf(sb, `<text class="tick" x="%.1f" y="%.1f" text-anchor="end">0</text>`, left-4, h-bottom)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
